"""The test harness: what the tests and the benchmarks share to run the real components on loopback.

`devnet` (anvil nodes started with the devnet's own command line, the dm3 contracts over JSON-RPC), `indexer`
(a seeded scenario, the contracts' views as the oracle, in-process indexing, database dumps), `fault_proxy` (a
JSON-RPC proxy that injects node faults), `api` (constants and rows for the API tests), `relayer` (the relayer
on one anvil and one database), `ens` (an L1 with ENS and an L2, the indexer and the gateway as processes),
`webapp` (the inbox app in Chromium), `signing` (EIP-712 signatures built from `indexer.signing`'s table),
`fixtures` (the devnet and API pytest fixtures, imported by the conftest.py of each test directory that uses them),
`proofs` (the storage-proof tests' writes, snapshots and API server), `mpt_proofs` (`eth_getProof` answers and
re-hashed tampered Merkle-Patricia proofs), `proposer` (a proposer of OP output roots
and BOLD assertions on the L1 harness contracts, the product's witness code underneath, and unchecked encodings of
tampered proof answers).

Import it from the project root: pytest adds the root through `pythonpath` in pyproject.toml, and the benchmarks
run as `python -m bench.<name>.run` from the root.
"""
