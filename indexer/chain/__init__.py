"""Talking to nodes: JSON-RPC client (rpc), event ABI and log decoding (abi)."""
