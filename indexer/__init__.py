"""dm3 registry indexer, read API and CCIP-read gateway."""

import importlib.util
import os

# Every address checksum, EIP-712 hash and event topic goes through eth-hash's keccak. eth-hash takes the first
# backend it can import, pycryptodome, whose per-call overhead is ~10x safe-pysha3's (both are installed); the
# documented ETH_HASH_BACKEND variable picks pysha3 instead, unless the operator set it. Before any hashing.
if importlib.util.find_spec("sha3") is not None:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
