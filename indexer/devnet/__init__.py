"""The local devnet: an L1 with a real ENS and three L2s (Optimism-, Arbitrum- and Base-like) on anvil.

    from indexer.devnet import DevnetOptions, up, down, status

    state = up()                      # idempotent; DevnetState: chains, RPC URLs, addresses, dev keys
    state.chain("optimism").contracts["ProfileRegistry"]
    down()

CLI: `python -m indexer.devnet up|down|status [--base-port 8545] [--state-dir .devnet] [--services]`.
Records of devnet deployments go to `.devnet/deployments/` (never to `deployments/`).
"""

from __future__ import annotations

from indexer.devnet.anvil import DevnetError
from indexer.devnet.core import DevnetOptions, down, load, status, up
from indexer.devnet.files import ChainState, DevnetState

__all__ = ["ChainState", "DevnetError", "DevnetOptions", "DevnetState", "down", "load", "status", "up"]
