"""The devnet's chains, accounts and names: every constant of the local setup in one place."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

# anvil's (and ape's test) mnemonic: public test keys, funded on every devnet chain, worthless anywhere else.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEPLOYER_INDEX = 0
GATEWAY_SIGNER_INDEX = 9
RELAYER_INDEX = 8  # the relayers' account on every L2 (pays the gas of signed writes)

L1_CHAIN_ID = 31337  # anvil's default (ape-foundry's too), so ape's `ethereum:local` accepts it unchanged
DEFAULT_BASE_PORT = 8545
DEFAULT_GATEWAY_PORT = 8080
GATEWAY_PATH = "/ccip/{sender}/{data}.json"


@dataclass(frozen=True)
class DevnetChain:
    """One local anvil chain."""

    ecosystem: str  # the ape ecosystem, also the chain's short name
    chain_id: int
    port: int
    parent_name: str | None  # the L2 registry's parent name; None for the L1

    @property
    def network(self) -> str:
        """The ape network choice (without provider), which also names the record file."""
        return f"{self.ecosystem}:local"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_l1(self) -> bool:
        return self.parent_name is None


def default_chains(base_port: int = DEFAULT_BASE_PORT) -> tuple[DevnetChain, ...]:
    """L1 on `base_port`, then Optimism-, Arbitrum- and Base-like L2s (their real chain ids) on the next ports."""
    return (
        DevnetChain("ethereum", L1_CHAIN_ID, base_port, None),
        DevnetChain("optimism", 10, base_port + 1, "op.dm3.eth"),
        DevnetChain("arbitrum", 42161, base_port + 2, "arb.dm3.eth"),
        DevnetChain("base", 8453, base_port + 3, "base.dm3.eth"),
    )


def dev_account(index: int) -> LocalAccount:
    """Account `index` of the dev mnemonic (index 0 = 0xf39F...2266, as anvil prints it)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
