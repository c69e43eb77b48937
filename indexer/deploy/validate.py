"""Argument checks shared by `ape run deploy` and the devnet.

Each function returns the value in its canonical form (checksummed address, normalised name) or raises
`InvalidArgument` with a message that names the argument and says what a good value looks like.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from eth_utils import is_checksum_address, to_checksum_address

from indexer.deploy.errors import InvalidArgument, MissingRpcUrl
from indexer.ens import InvalidEnsName, normalize_name

# Fixed by the contracts' constructors: ProfileRegistry(parent_name: String[255]) and
# Dm3Resolver(urls: DynArray[String[256], 8], signers: DynArray[address, 16]).
MAX_PARENT_NAME_BYTES = 255
MAX_URL_BYTES = 256
MAX_URLS = 8
MAX_SIGNERS = 16
DEFAULT_COOLDOWN = 7 * 24 * 60 * 60
MAX_COOLDOWN = 365 * 24 * 60 * 60  # InboxDeposits.MAX_COOLDOWN

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
# ProfileRegistry checks every label of its parent on-chain: lowercase a-z, 0-9 and inner hyphens.
_REGISTRY_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ZERO_ADDRESS = "0x" + "00" * 20


def parse_address(value: str, *, what: str) -> str:
    """A non-zero 20-byte hex address; mixed case must be a valid EIP-55 checksum. Returns it checksummed."""
    if not _HEX_ADDRESS.match(value):
        raise InvalidArgument(f"{what}: {value!r} is not an address (0x followed by 40 hex digits)")
    is_mixed_case = value[2:] != value[2:].lower() and value[2:] != value[2:].upper()
    if is_mixed_case and not is_checksum_address(value):
        raise InvalidArgument(f"{what}: {value!r} has an invalid EIP-55 checksum (a typo?)")
    if value.lower() == ZERO_ADDRESS:
        raise InvalidArgument(f"{what}: the zero address is not allowed")
    return to_checksum_address(value)


def parse_addresses(values: Iterable[str], *, what: str, at_most: int) -> list[str]:
    """At least one and at most `at_most` distinct addresses, each checked by `parse_address`."""
    addresses = [parse_address(value, what=what) for value in values]
    if not addresses:
        raise InvalidArgument(f"{what}: give at least one")
    if len(addresses) > at_most:
        raise InvalidArgument(f"{what}: at most {at_most}, got {len(addresses)}")
    duplicates = sorted({a for a in addresses if addresses.count(a) > 1})
    if duplicates:
        raise InvalidArgument(f"{what}: listed more than once: {', '.join(duplicates)}")
    return addresses


def parse_ens_name(name: str, *, what: str) -> str:
    """An ENS name already in ENSIP-15 normal form, of at least two labels (e.g. `op.dm3.eth`).

    A name that normalises to something else is refused rather than silently rewritten: the contracts hash
    the name exactly as given, so `OP.dm3.eth` would give a node that no ENS client ever asks for.
    """
    if not name:
        raise InvalidArgument(f"{what}: empty; give an ENS name such as op.dm3.eth")
    try:
        normalized = normalize_name(name)
    except InvalidEnsName as err:
        raise InvalidArgument(f"{what}: {name!r} is not a valid ENS name: {err.reason}") from err
    if normalized != name:
        raise InvalidArgument(f"{what}: {name!r} is not in ENS normal form; use {normalized!r}")
    if "." not in name:
        raise InvalidArgument(f"{what}: {name!r} is a top-level name; give a name under it, e.g. op.dm3.eth")
    if len(name.encode()) > MAX_PARENT_NAME_BYTES:
        raise InvalidArgument(f"{what}: longer than {MAX_PARENT_NAME_BYTES} bytes")
    bad = [label for label in name.split(".") if not _REGISTRY_LABEL.match(label)]
    if bad:
        raise InvalidArgument(
            f"{what}: {name!r} is a valid ENS name, but ProfileRegistry only takes labels of a-z, 0-9 and "
            f"inner hyphens (not {', '.join(map(repr, bad))})"
        )
    return name


def parse_gateway_urls(urls: Sequence[str]) -> list[str]:
    """EIP-3668 gateway URL templates: 1 to 8 distinct http(s) URLs of at most 256 bytes each.

    A template with `{data}` is fetched with GET, one without it with POST (EIP-3668); both are accepted.
    """
    if not urls:
        raise InvalidArgument(
            "--url: give at least one gateway URL, e.g. https://gw.example/ccip/{sender}/{data}.json"
        )
    if len(urls) > MAX_URLS:
        raise InvalidArgument(f"--url: at most {MAX_URLS} gateway URLs, got {len(urls)}")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgument(f"--url: {url!r} is not an http(s) URL")
        if len(url.encode()) > MAX_URL_BYTES:
            raise InvalidArgument(f"--url: {url!r} is longer than {MAX_URL_BYTES} bytes")
    if len(set(urls)) != len(urls):
        raise InvalidArgument("--url: a URL is listed more than once")
    return list(urls)


def parse_cooldown(seconds: int) -> int:
    """The withdrawal cooldown of InboxDeposits in seconds: 1 s to 365 days, as the contract requires."""
    if not 0 < seconds <= MAX_COOLDOWN:
        raise InvalidArgument(f"--cooldown: must be 1 to {MAX_COOLDOWN} seconds (365 days), got {seconds}")
    return seconds


def rpc_env_var(ecosystem: str, network: str) -> str:
    """The environment variable that holds the RPC URL of a live network, as ape-config.yaml reads it.

    `optimism`, `sepolia` -> `OPTIMISM_SEPOLIA_RPC_URL`; a fork network uses its upstream's variable.
    """
    network = network.removesuffix("-fork")
    return f"{ecosystem}_{network}_RPC_URL".upper().replace("-", "_")


def require_rpc_url(ecosystem: str, network: str) -> str:
    """The RPC URL of a live network from the environment, or `MissingRpcUrl` naming the variable."""
    name = rpc_env_var(ecosystem, network)
    url = os.environ.get(name, "").strip()
    if not url:
        raise MissingRpcUrl(
            f"no RPC URL for {ecosystem}:{network}: set the environment variable {name} "
            f"(e.g. export {name}=https://<your provider>/<key>); URLs are never read from the repository"
        )
    return url
