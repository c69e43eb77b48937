"""Argument checks of the deploy tooling: every bad value is refused with a message naming it."""

from __future__ import annotations

import pytest

from indexer.deploy.errors import InvalidArgument, MissingRpcUrl
from indexer.deploy.validate import (
    parse_address,
    parse_addresses,
    parse_cooldown,
    parse_ens_name,
    parse_gateway_urls,
    require_rpc_url,
    rpc_env_var,
)

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_parse_address__lowercase__returns_checksummed():
    assert parse_address(ADDRESS.lower(), what="--token") == ADDRESS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0x1234", "is not an address"),
        ("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "is not an address"),
        ("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "checksum"),
        ("0x" + "00" * 20, "zero address"),
    ],
)
def test_parse_address__bad__names_the_option(value, message):
    with pytest.raises(InvalidArgument, match=message) as err:
        parse_address(value, what="--token")
    assert str(err.value).startswith("--token:")


def test_parse_addresses__empty_or_duplicate__refused():
    with pytest.raises(InvalidArgument, match="at least one"):
        parse_addresses([], what="--signer", at_most=16)
    with pytest.raises(InvalidArgument, match="more than once"):
        parse_addresses([ADDRESS, ADDRESS.lower()], what="--signer", at_most=16)
    with pytest.raises(InvalidArgument, match="at most 1"):
        parse_addresses([ADDRESS, "0x" + "11" * 20], what="--signer", at_most=1)


def test_parse_ens_name__normalised__accepted():
    assert parse_ens_name("op.dm3.eth", what="--parent") == "op.dm3.eth"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("OP.dm3.eth", "not in ENS normal form; use 'op.dm3.eth'"),
        ("op..eth", "not a valid ENS name"),
        ("op_x.dm3.eth", "not a valid ENS name"),
        ("eth", "top-level"),
        ("\N{PILE OF POO}.dm3.eth", "only takes labels of a-z"),
        ("-op.dm3.eth", "only takes labels of a-z"),
    ],
)
def test_parse_ens_name__bad__refused(name, message):
    with pytest.raises(InvalidArgument, match=message):
        parse_ens_name(name, what="--parent")


def test_parse_gateway_urls():
    url = "https://gw.example/ccip/{sender}/{data}.json"
    assert parse_gateway_urls([url, "https://gw2.example/ccip"]) == [url, "https://gw2.example/ccip"]
    with pytest.raises(InvalidArgument, match="at least one"):
        parse_gateway_urls([])
    with pytest.raises(InvalidArgument, match="not an http"):
        parse_gateway_urls(["ftp://gw.example/x"])
    with pytest.raises(InvalidArgument, match="more than once"):
        parse_gateway_urls([url, url])
    with pytest.raises(InvalidArgument, match="at most 8"):
        parse_gateway_urls([f"https://gw{i}.example/" for i in range(9)])
    with pytest.raises(InvalidArgument, match="longer than 256"):
        parse_gateway_urls(["https://gw.example/" + "a" * 250])


def test_parse_cooldown():
    assert parse_cooldown(604800) == 604800
    for bad in (0, -1, 365 * 86400 + 1):
        with pytest.raises(InvalidArgument, match="--cooldown"):
            parse_cooldown(bad)


def test_rpc_env_var__names():
    assert rpc_env_var("optimism", "sepolia") == "OPTIMISM_SEPOLIA_RPC_URL"
    assert rpc_env_var("ethereum", "mainnet") == "ETHEREUM_MAINNET_RPC_URL"
    assert rpc_env_var("base", "sepolia-fork") == "BASE_SEPOLIA_RPC_URL"


def test_require_rpc_url__unset__names_the_variable(monkeypatch):
    monkeypatch.delenv("ARBITRUM_SEPOLIA_RPC_URL", raising=False)
    with pytest.raises(MissingRpcUrl, match="ARBITRUM_SEPOLIA_RPC_URL"):
        require_rpc_url("arbitrum", "sepolia")
    monkeypatch.setenv("ARBITRUM_SEPOLIA_RPC_URL", "https://rpc.example/key")
    assert require_rpc_url("arbitrum", "sepolia") == "https://rpc.example/key"
