"""Deployment: owner (an argument; the deployer gets nothing), URLs, signers, events; the ABI is exactly the
documented interface."""

from __future__ import annotations

from typing import Any

import ape
from eth_account import Account

from indexer.deploy.create2 import PROXY

from .resolver_helpers import MAX_SIGNERS_PER_CALL, MAX_URL_LENGTH, MAX_URLS, URLS

ZERO = "0x" + "00" * 20

EXPECTED_FUNCTIONS = {
    "resolve(bytes,bytes)",
    "resolveWithProof(bytes,bytes)",
    "makeSignatureHash(address,uint64,bytes,bytes)",
    "supportsInterface(bytes4)",
    "urls()",
    "signers(address)",
    "add_signers(address[])",
    "remove_signers(address[])",
    "set_urls(string[])",
    "owner()",
    "pending_owner()",
    "transfer_ownership(address)",
    "accept_ownership()",
    "MAX_NAME_LENGTH()",
    "MAX_DATA_LENGTH()",
    "MAX_RESULT_LENGTH()",
    "MAX_URL_LENGTH()",
    "MAX_URLS()",
    "MAX_SIGNERS_PER_CALL()",
    # Proof mode (tests/contracts/proof_mode).
    "proof_config_for(bytes)",
    "proof_configs(bytes32)",
    "set_proof_config(bytes32,uint8,uint8,address,address,address,uint64,address)",
    "MODE_SIGNED()",
    "MODE_PROVEN()",
    "MODE_PROVEN_OR_SIGNED()",
    "KIND_OP_STACK()",
    "KIND_ARBITRUM()",
}
EXPECTED_EVENTS = {
    "SignersAdded(address[])",
    "SignersRemoved(address[])",
    "UrlsChanged(string[])",
    "OwnershipTransferred(address,address)",
    "OwnershipTransferStarted(address,address)",
    "ProofConfigChanged(bytes32,uint8,uint8,address,address,address,uint64,address)",
}


def test_constructor__sets_owner_urls_signers_and_logs(project: Any, owner: Any, chain: Any) -> None:
    signers = [Account.create().address, Account.create().address]

    resolver = project.Dm3Resolver.deploy(URLS, signers, owner, sender=owner)

    assert resolver.owner() == owner.address
    assert resolver.pending_owner() == ZERO
    assert list(resolver.urls()) == URLS
    assert all(resolver.signers(a) for a in signers)
    receipt = chain.get_receipt(resolver.txn_hash)
    added = list(receipt.decode_logs(resolver.SignersAdded))
    urls = list(receipt.decode_logs(resolver.UrlsChanged))
    assert len(added) == 1 and added[0].signers == signers
    assert len(urls) == 1 and list(urls[0].urls) == URLS


def test_constructor__zero_owner__reverts(project: Any, owner: Any) -> None:
    with ape.reverts("resolver: zero owner"):
        project.Dm3Resolver.deploy(URLS, [Account.create().address], ZERO, sender=owner)


def _no_owner_rights(resolver: Any, account: Any) -> None:
    """`account` can change neither the signers, nor the URLs, nor the ownership."""
    for call in (
        lambda: resolver.add_signers([account.address], sender=account),
        lambda: resolver.remove_signers([account.address], sender=account),
        lambda: resolver.set_urls(["https://evil.example/{sender}/{data}.json"], sender=account),
        lambda: resolver.transfer_ownership(account.address, sender=account),
    ):
        with ape.reverts("ownable: caller is not the owner"):
            call()


def test_constructor__owner_other_than_the_deployer__owner_has_every_right(
    project: Any, owner: Any, stranger: Any, chain: Any
) -> None:
    signer = Account.create().address

    resolver = project.Dm3Resolver.deploy(URLS, [signer], stranger, sender=owner)

    assert resolver.owner() == stranger.address
    assert resolver.pending_owner() == ZERO
    _no_owner_rights(resolver, owner)
    resolver.remove_signers([signer], sender=stranger)
    assert not resolver.signers(signer)
    receipt = chain.get_receipt(resolver.txn_hash)
    moves = [
        (log.previous_owner, log.new_owner) for log in receipt.decode_logs(resolver.OwnershipTransferred)
    ]
    assert moves == [(ZERO, owner.address), (owner.address, stranger.address)]


def test_constructor__through_the_deployment_proxy__proxy_has_no_rights(
    project: Any, owner: Any, stranger: Any, deploy_through_proxy: Any, proxy_account: Any
) -> None:
    resolver, receipt = deploy_through_proxy(
        project.Dm3Resolver, URLS, [Account.create().address], stranger, sender=owner
    )

    assert resolver.owner() == stranger.address
    moves = [
        (log.previous_owner, log.new_owner) for log in receipt.decode_logs(resolver.OwnershipTransferred)
    ]
    assert moves == [(ZERO, PROXY), (PROXY, stranger.address)]
    _no_owner_rights(resolver, proxy_account)
    _no_owner_rights(resolver, owner)


def test_constructor__at_caps__deploys(project: Any, owner: Any) -> None:
    urls = [f"https://{i}.example/" + "p" * (MAX_URL_LENGTH - 18) for i in range(MAX_URLS)]
    signers = [Account.create().address for _ in range(MAX_SIGNERS_PER_CALL)]

    resolver = project.Dm3Resolver.deploy(urls, signers, owner, sender=owner)

    assert list(resolver.urls()) == urls
    assert all(resolver.signers(a) for a in signers)


def test_constructor__no_urls__reverts(project: Any, owner: Any) -> None:
    with ape.reverts("resolver: no urls"):
        project.Dm3Resolver.deploy([], [Account.create().address], owner, sender=owner)


def test_constructor__empty_url__reverts(project: Any, owner: Any) -> None:
    with ape.reverts("resolver: empty url"):
        project.Dm3Resolver.deploy([""], [Account.create().address], owner, sender=owner)


def test_constructor__no_signers__reverts(project: Any, owner: Any) -> None:
    with ape.reverts("resolver: no signers"):
        project.Dm3Resolver.deploy(URLS, [], owner, sender=owner)


def test_constructor__zero_signer__reverts(project: Any, owner: Any) -> None:
    with ape.reverts("resolver: zero signer"):
        project.Dm3Resolver.deploy(URLS, [ZERO], owner, sender=owner)


def test_constructor__duplicate_signer__reverts(project: Any, owner: Any) -> None:
    signer = Account.create().address
    with ape.reverts("resolver: already a signer"):
        project.Dm3Resolver.deploy(URLS, [signer, signer], owner, sender=owner)


def test_constructor__over_caps__reverts(project: Any, owner: Any) -> None:
    signer = Account.create().address
    with ape.reverts():
        project.Dm3Resolver.deploy(
            [f"https://{i}.example/" for i in range(MAX_URLS + 1)], [signer], owner, sender=owner
        )
    with ape.reverts():
        project.Dm3Resolver.deploy(
            ["https://a.example/" + "p" * MAX_URL_LENGTH], [signer], owner, sender=owner
        )
    with ape.reverts():
        project.Dm3Resolver.deploy(
            URLS, [Account.create().address for _ in range(MAX_SIGNERS_PER_CALL + 1)], owner, sender=owner
        )


def test_abi__exactly_the_documented_interface(resolver: Any) -> None:
    """No accidental exports (e.g. `renounce_ownership`) and nothing missing."""
    abi = resolver.contract_type.abi
    functions = {
        f"{a.name}({','.join(i.canonical_type for i in a.inputs)})" for a in abi if a.type == "function"
    }
    events = {f"{a.name}({','.join(i.canonical_type for i in a.inputs)})" for a in abi if a.type == "event"}
    assert functions == EXPECTED_FUNCTIONS
    assert events == EXPECTED_EVENTS


def test_constants__documented_caps(resolver: Any) -> None:
    assert resolver.MAX_NAME_LENGTH() == 512
    assert resolver.MAX_DATA_LENGTH() == 4096
    assert resolver.MAX_RESULT_LENGTH() == 8192
    assert resolver.MAX_URL_LENGTH() == MAX_URL_LENGTH
    assert resolver.MAX_URLS() == MAX_URLS
    assert resolver.MAX_SIGNERS_PER_CALL() == MAX_SIGNERS_PER_CALL
