"""Deterministic addresses: CREATE2 through the deterministic-deployment proxy.

The proxy (github.com/Arachnid/deterministic-deployment-proxy) lives at `PROXY` on Ethereum, Optimism, Arbitrum,
Base and their testnets, because it was created by a presigned transaction that anyone can replay on a new chain;
anvil predeploys it. Called with `salt (32 bytes) ‖ initcode`, it runs CREATE2 with that salt and returns the new
address (20 bytes), or reverts when the creation fails. So a contract lands at

    keccak256(0xff ‖ PROXY ‖ salt ‖ keccak256(initcode))[12:]

which depends only on the salt, the compiled code and the constructor arguments: not on who sends the
transaction, their nonce, or the chain. The same contract with the same arguments has the same address on every
chain. Because the contracts take their owner as a constructor argument (the proxy, their `msg.sender`, gets
nothing), anyone may send the deployment: it creates our contract, owned by our owner.
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_typing import HexStr
from eth_utils import to_checksum_address
from eth_utils.abi import get_abi_input_types
from web3.utils.address import get_create2_address

from indexer.deploy.errors import InvalidArgument

PROXY = to_checksum_address("0x4e59b44847b379578588920ca78fbf26c0b4956c")
# The proxy's runtime code (identical on every chain): anything else at `PROXY` would not compute our addresses.
PROXY_RUNTIME = bytes.fromhex(
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe036016000816020823780358282"
    "34f58015156039578182fd5b8082525050506014600cf3"
)
# The dm3 v1 salt: the ASCII bytes "dm3 v1", zero-padded to 32 bytes. A new salt gives every contract new addresses.
DEFAULT_SALT = "0x" + b"dm3 v1".ljust(32, b"\0").hex()


def parse_salt(value: str, *, what: str = "--salt") -> str:
    """A 32-byte salt as 0x followed by 64 hex digits; returned in lowercase."""
    digits = value[2:] if value[:2] in ("0x", "0X") else None
    if digits is None or len(digits) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise InvalidArgument(f"{what}: {value!r} is not a 32-byte salt (0x followed by 64 hex digits)")
    return "0x" + digits.lower()


def initcode(bytecode: str, abi: list[dict[str, Any]], args: list[Any]) -> bytes:
    """The creation code: the compiled deployment bytecode followed by the ABI-encoded constructor arguments."""
    constructor = next((item for item in abi if item.get("type") == "constructor"), None)
    types = get_abi_input_types(constructor) if constructor else []  # type: ignore[arg-type]
    return bytes.fromhex(bytecode.removeprefix("0x")) + encode(types, args)


def create2_address(salt: str, code: bytes) -> str:
    """Where the proxy creates `code` (initcode) with `salt`: the checksummed address."""
    return str(get_create2_address(PROXY, HexStr(salt), HexStr("0x" + code.hex())))


def proxy_calldata(salt: str, code: bytes) -> bytes:
    """What to send to the proxy: the salt, then the initcode."""
    return bytes.fromhex(salt.removeprefix("0x")) + code


def is_same_contract(deployed: bytes, runtime_bytecode: str) -> bool:
    """Whether `deployed` (code on the chain) is the compiled contract whose runtime bytecode is given.

    Vyper appends the immutables the constructor wrote (constructor arguments, the EIP-712 domain with its chain
    id and address) after the runtime code, so the code on the chain starts with the compiled runtime code and
    then differs per deployment; at a CREATE2 address the initcode, and so the arguments, are fixed anyway.
    """
    runtime = bytes.fromhex(runtime_bytecode.removeprefix("0x"))
    return bool(runtime) and deployed.startswith(runtime)
