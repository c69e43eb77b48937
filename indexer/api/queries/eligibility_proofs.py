"""`?proof=true`: eligibility answers with the InboxDeposits storage they rest on, proven at their envelope block.

The answers are computed as always (one database snapshot); then, per chain, one `eth_getProof` of the
InboxDeposits contract for every slot the answers read (each pair's `_bonds[sender][recipient]`, each recipient's
`min_deposit`), at the envelope block's hash (EIP-1898: a node that no longer has that block errors instead of
proving another one). Each chain entry of each answer gets the account proof and its two storage proofs.

The proofs are for the caller to verify against a header from its own node
(`indexer.client.verify_eligibility_proof`), but the API does not pass on what does not hold: it checks each node
answer against the envelope block's header (fetched by hash and re-hashed: the header of that block, not another)
before attaching it, so a lying or broken node (a proof of another block, account or value) is a 502 JSON answer,
not a proof the caller would refuse. Errors name the chain and the kind of failure, never the node's URL (it
carries API keys).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from eth_utils import to_bytes, to_checksum_address
from pydantic import SecretStr

from indexer.api.errors import ApiError
from indexer.api.schemas import (
    AccountProofJson,
    DepositsProof,
    EligibilityResponse,
    ProvenChainEligibility,
    ProvenEligibilityResponse,
    StorageProofItem,
)
from indexer.chain.rpc import (
    RetryPolicy,
    RpcBlockUnavailable,
    RpcClient,
    RpcError,
    RpcTimeout,
    RpcUnreachable,
)
from indexer.proofs import slots
from indexer.proofs.rpc import tls_context
from indexer.proofs.verify import AccountProof, Header, ProofError, verify_storage

#: Up to this many slots the proof is checked on the event loop (a single pair's two slots: ~1 ms of CPU on a
#: small trie); a batch's is checked on a worker thread.
_CHECK_ON_LOOP_SLOTS = 4


def _slot_hex(slot: int) -> str:
    return "0x" + slot.to_bytes(32, "big").hex()


def _node_failure(chain_id: int, block: int, exc: RpcError) -> ApiError:
    if isinstance(exc, RpcBlockUnavailable):
        why = "it does not have that block (reorged away, or not synced yet)"
    elif isinstance(exc, RpcTimeout):
        why = "it timed out"
    elif isinstance(exc, RpcUnreachable):
        why = "it is unreachable"
    else:  # e.g. "missing trie node": a node that pruned the state of that block
        why = "it answered an error (does it keep the state of recent blocks?)"
    return ApiError(f"chain {chain_id}: the node could not prove block {block}: {why}", status=503)


async def _fetch(
    chain_id: int, url: SecretStr, *, contract: str, block: tuple[int, str], wanted: list[int], timeout: float
) -> AccountProof:
    number, block_hash = block
    retry = RetryPolicy(attempts=2, max_elapsed=timeout, initial_wait=0.05, max_wait=0.5)
    transport = httpx.AsyncHTTPTransport(verify=tls_context())  # not a new TLS context per request
    async with RpcClient(
        url.get_secret_value(), chain=f"proofs-{chain_id}", timeout=timeout, retry=retry, transport=transport
    ) as rpc:
        # the proof and the header it must hold against, at once (one round trip of latency)
        answers: list[Any] = list(
            await asyncio.gather(
                rpc.call(
                    "eth_getProof", [contract, [_slot_hex(s) for s in wanted], {"blockHash": block_hash}]
                ),
                rpc.call("eth_getBlockByHash", [block_hash, False]),
                return_exceptions=True,
            )
        )
    raw, raw_header = answers
    for outcome in answers:
        if isinstance(outcome, BaseException) and not isinstance(outcome, RpcError):
            raise outcome
    if isinstance(raw, RpcError):
        exc = raw
        # nodes word "no such block" differently (anvil: "Resource not found"): the header answer tells
        if not isinstance(exc, RpcTimeout | RpcUnreachable) and raw_header is None:
            exc = RpcBlockUnavailable(str(exc))
        raise _node_failure(chain_id, number, exc) from None
    if isinstance(raw_header, RpcError):
        raise _node_failure(chain_id, number, raw_header) from None
    if raw_header is None:
        raise _node_failure(chain_id, number, RpcBlockUnavailable("no header"))
    try:
        proof = AccountProof.from_rpc(raw)
    except ProofError:
        raise ApiError(f"chain {chain_id}: the node's eth_getProof answer is malformed", status=502) from None
    if len(wanted) <= _CHECK_ON_LOOP_SLOTS:  # ~1 ms of CPU: not worth a thread hop
        _check(chain_id, number, block_hash, raw_header, proof, contract=contract, wanted=wanted)
    else:  # a batch's proof: tens of ms of hashing, off the event loop
        await asyncio.to_thread(
            _check, chain_id, number, block_hash, raw_header, proof, contract=contract, wanted=wanted
        )
    return proof


def _check(
    chain_id: int,
    number: int,
    block_hash: str,
    raw_header: Any,
    proof: AccountProof,
    *,
    contract: str,
    wanted: Sequence[int],
) -> None:
    """The node's proof holds for `contract`'s `wanted` slots at the envelope block, or a 502 naming what failed."""
    try:
        header = Header.from_rpc(raw_header)
    except ProofError:
        raise ApiError(
            f"chain {chain_id}: the node's header of block {number} does not hash to its hash", status=502
        ) from None
    if header.hash != to_bytes(hexstr=block_hash) or header.number != number:
        raise ApiError(f"chain {chain_id}: the node answered another block than {number}", status=502)
    if proof.address != to_checksum_address(contract):
        raise ApiError(f"chain {chain_id}: the node proved another account than InboxDeposits", status=502)
    try:
        verify_storage(header.state_root, proof, wanted)
    except ProofError:
        raise ApiError(
            f"chain {chain_id}: the node's proof does not verify against block {number}'s state root",
            status=502,
        ) from None


async def prove_answers(
    answers: Sequence[EligibilityResponse],
    *,
    contracts: Mapping[int, str | None],
    rpc_urls: Mapping[int, SecretStr],
    timeout: float,
) -> list[ProvenEligibilityResponse]:
    """`answers` (from one snapshot) with every chain entry's proof; `contracts`: InboxDeposits by chain id."""
    blocks: dict[int, tuple[int, str]] = {}
    wanted: dict[int, set[int]] = {}
    for answer in answers:
        for entry in answer.chains:
            env = entry.envelope
            if env.block_number is None or env.block_hash is None:
                raise ApiError(f"chain {env.chain_id} has no indexed block yet: nothing to prove", status=503)
            if rpc_urls.get(env.chain_id) is None:
                raise ApiError(
                    f"proofs are not available for chain {env.chain_id}: the API has no node for it "
                    "(DM3_API_RPC_URLS)",
                    status=503,
                )
            if not contracts.get(env.chain_id):
                raise ApiError(f"chain {env.chain_id} has no InboxDeposits contract indexed", status=503)
            blocks[env.chain_id] = (env.block_number, env.block_hash)
            sender, recipient = answer.sender_address, answer.recipient_address
            assert sender is not None and recipient is not None  # answers with chains name both
            wanted.setdefault(env.chain_id, set()).update(
                (slots.bond_slot(sender=sender, recipient=recipient), slots.min_deposit_slot(recipient))
            )
    chain_ids = sorted(blocks)
    fetched = await asyncio.gather(
        *(
            _fetch(
                chain_id,
                rpc_urls[chain_id],
                contract=str(contracts[chain_id]),
                block=blocks[chain_id],
                wanted=sorted(wanted[chain_id]),
                timeout=timeout,
            )
            for chain_id in chain_ids
        )
    )
    proofs = dict(zip(chain_ids, fetched, strict=True))
    return [_proven(answer, proofs) for answer in answers]


def _proven(answer: EligibilityResponse, proofs: Mapping[int, AccountProof]) -> ProvenEligibilityResponse:
    entries = []
    for entry in answer.chains:
        proof = proofs[entry.envelope.chain_id]
        sender, recipient = answer.sender_address, answer.recipient_address
        assert sender is not None and recipient is not None
        own = {slots.bond_slot(sender=sender, recipient=recipient), slots.min_deposit_slot(recipient)}
        raw = proof.to_json()
        account = AccountProofJson(
            **{key: value for key, value in raw.items() if key != "storageProof"},
            storageProof=[
                StorageProofItem(
                    key=_slot_hex(p.slot), value=hex(p.value), proof=["0x" + n.hex() for n in p.proof]
                )
                for p in proof.storage
                if p.slot in own
            ],
        )
        entries.append(
            ProvenChainEligibility(
                **entry.model_dump(),
                proof=DepositsProof(
                    contract=proof.address,
                    bond_slot=_slot_hex(slots.bond_slot(sender=sender, recipient=recipient)),
                    min_deposit_slot=_slot_hex(slots.min_deposit_slot(recipient)),
                    account=account,
                ),
            )
        )
    return ProvenEligibilityResponse(**answer.model_dump(exclude={"chains"}), chains=entries)
