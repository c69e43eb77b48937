"""Response (and request) models of the read API. uint256 amounts are decimal strings: JSON numbers lose
precision past 2^53."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from indexer.eligibility_rule import Reason
from indexer.store.types import Finality

#: Chain ids are stored as BIGINT: a larger `chain_id` filter is a 422, never a database overflow.
MAX_CHAIN_ID = 2**63 - 1


def _utf8(value: str) -> str:
    """JSON can spell strings UTF-8 cannot encode (a lone surrogate, `"\\ud800"`): refuse them at the boundary
    (a 422) instead of failing wherever the string is first encoded (a 500)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"is not valid UTF-8 text (a lone surrogate at position {error.start})") from None
    return value


#: A string from a JSON request body: every one is declared with this type (query, path and header strings are
#: decoded from bytes by the server and cannot hold a lone surrogate).
Text = Annotated[str, AfterValidator(_utf8)]

#: Why an answer is what it is; the rule itself is `indexer.eligibility_rule`.
EligibilityReason = Reason


class ErrorResponse(BaseModel):
    message: str


class Envelope(BaseModel):
    """Where an answer comes from: the chain, its indexed block (hash) and the finality tier of the facts used."""

    chain_id: int
    block_number: int | None
    block_hash: str | None
    block_timestamp: int | None = Field(
        description="unix time of block_number (judge the answer's age by it; null before the first block)"
    )
    finality: Finality


class ChainEligibility(BaseModel):
    eligible: bool
    reason: EligibilityReason
    inbox_configured: bool = Field(
        description="the recipient has set a price on this chain (or accepted this sender there); only such "
        "chains decide the overall answer, unless the recipient has configured no chain at all"
    )
    bond: str
    min_deposit: str
    accepted: bool
    withdrawal_pending: bool
    unlock_time: int | None
    envelope: Envelope


class EligibilityResponse(BaseModel):
    sender: str
    recipient: str
    sender_address: str | None
    recipient_address: str | None
    eligible: bool
    reason: EligibilityReason
    eligible_chain_ids: list[int]
    chains: list[ChainEligibility]


class EligibilityPair(BaseModel):
    sender: Text = Field(max_length=300)
    recipient: Text = Field(max_length=300)


class EligibilityBatchRequest(BaseModel):
    pairs: list[EligibilityPair]
    chain_id: int | None = Field(default=None, ge=0, le=MAX_CHAIN_ID)
    min_finality: Finality = "latest"
    proof: bool = Field(
        default=False, description="attach storage proofs (at most DM3_API_MAX_PROOF_BATCH pairs)"
    )


class EligibilityBatch(BaseModel):
    data: list[EligibilityResponse]
    count: int


# --- proven answers (`?proof=true`, README "Proven answers") ----------------------------------------------------


class StorageProofItem(BaseModel):
    key: str
    value: str
    proof: list[str]


class AccountProofJson(BaseModel):
    """The node's `eth_getProof` answer, in its own shape (hex quantities, RLP-encoded trie nodes)."""

    address: str
    nonce: str
    balance: str
    storageHash: str
    codeHash: str
    accountProof: list[str]
    storageProof: list[StorageProofItem]


class DepositsProof(BaseModel):
    """The InboxDeposits state a chain's answer rests on, proven at the envelope's block (`block_hash`): the
    contract's account proof and the storage proofs of the pair's bond slot and the recipient's minimum."""

    contract: str = Field(description="the InboxDeposits address whose storage is proven")
    bond_slot: str = Field(description="_bonds[sender][recipient] (verifiers compute it themselves)")
    min_deposit_slot: str = Field(description="min_deposit[recipient]")
    account: AccountProofJson


class ProvenChainEligibility(ChainEligibility):
    proof: DepositsProof


class ProvenEligibilityResponse(EligibilityResponse):
    chains: list[ProvenChainEligibility]  # type: ignore[assignment]


class ProvenEligibilityBatch(BaseModel):
    data: list[ProvenEligibilityResponse]
    count: int


class Dm3Profile(BaseModel):
    """The parsed `network.dm3.profile` record. `signature_valid` is None when the profile is only referenced by URL
    (not fetched) or could not be parsed (`error` says why)."""

    kind: Literal["data", "url"] | None
    url: str | None = None
    dm3_hash: str | None = None
    public_encryption_key: str | None = None
    public_signing_key: str | None = None
    delivery_services: list[str] = Field(default_factory=list)
    signature: str | None = None
    signature_valid: bool | None = None
    error: str | None = None


class DeliveryService(BaseModel):
    public_signing_key: str | None = None
    public_encryption_key: str | None = None
    url: str | None = None
    error: str | None = None


class ProfileResponse(BaseModel):
    name: str
    node: str
    owner: str | None
    # What the name resolves to: what `addr(node)` answers (coin 60, else the ENSIP-19 default), else its owner.
    address: str | None
    addresses: dict[str, str]  # the address records as set: coin type (decimal) -> 0x bytes
    texts: dict[str, str]
    contenthash: str | None
    dm3_profile: Dm3Profile | None
    delivery_service: DeliveryService | None
    envelope: Envelope


class BondOut(BaseModel):
    chain_id: int
    sender: str
    recipient: str
    bond: str
    accepted: bool
    withdrawal_pending: bool
    unlock_time: int | None
    block_number: int
    finality: Finality


class DepositsPage(BaseModel):
    data: list[BondOut]
    count: int
    next_cursor: str | None
    chains: list[Envelope]


class RecipientChainStats(BaseModel):
    min_deposit: str
    open_inbox: bool
    inbox_configured: bool = Field(
        description="the recipient set a price on this chain; unconfigured chains do not decide eligibility "
        "while another chain is configured (see GET /v1/eligibility)"
    )
    open_bonds: int  # pairs with a bond > 0 that are neither accepted nor withdrawing
    bonded_total: str  # sum of those bonds
    deposits: int
    deposited_total: str
    burns: int
    burned_total: str
    releases: int
    withdrawals: int
    burn_rate: float | None  # burns / (burns + releases); None before either happened
    envelope: Envelope


class RecipientResponse(BaseModel):
    address: str
    chains: list[RecipientChainStats]


class ChainStatus(BaseModel):
    chain_id: int
    name: str
    parent_name: str
    registry_address: str | None
    deposits_address: str | None
    status: str
    error: str | None
    head_block: int | None
    indexed_block: int | None
    indexed_block_hash: str | None
    indexed_block_timestamp: int | None
    safe_block: int | None
    finalized_block: int | None
    lag: int | None
    reorg_count: int
    updated_at: datetime = Field(description="the indexer's last write for this chain")
    head_seen_at: datetime | None = Field(description="when the indexer last got the node's head block")
    block_time: float | None = Field(description="observed seconds per block")
    stale: bool = Field(
        description="the last write or head is older than the staleness bound (status 'stale')"
    )


class StatusResponse(BaseModel):
    data: list[ChainStatus]
    count: int


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    message: str
    reasons: list[str]


class CcipRequest(BaseModel):
    sender: Text
    data: Text


class CcipResponse(BaseModel):
    data: str
