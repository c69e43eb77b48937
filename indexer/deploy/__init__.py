"""Deploying the dm3 contracts and recording what was deployed.

- `record`: the deployment record files under `deployments/` (the indexer reads them).
- `validate`: argument checks shared by the ape CLI (`scripts/deploy.py`) and the devnet.
- `create2`: deterministic addresses through the deterministic-deployment proxy (CREATE2), the default salt.
- `plan`: what an L2 and an L1 deployment consist of, independent of how transactions are signed and sent.
- `web3_deployer`: a `Deployer` over plain web3.py + eth-account (the devnet and tests).
  The ape deployer lives next to the CLI in `scripts/deploy.py`.
"""
