"""A small typed client of the read API, sync (`Dm3Client`) and async (`AsyncDm3Client`), on httpx.

    with Dm3Client("http://127.0.0.1:8000") as api:
        if api.eligibility(sender, "alice.op.dm3.eth").eligible: ...
        for change in api.changes(recipient=inbox):  # SSE; reconnects from the last change id by itself
            ...

`EligibilityCache` keeps eligibility answers for a set of pairs in memory, correct from the change stream (a
delivery node answers from it without any request).

Results are the API's own response models. A 4xx answer raises `Dm3ApiError` with the API's message (a 404 for a
profile returns None instead); 5xx answers and connection errors are retried with exponential backoff, then
raise `Dm3ApiError` / the httpx error. Names are normalised (ENSIP-15) here with the API's own rule before they are
sent, so `Alice.OP.dm3.eth` asks for `alice.op.dm3.eth`; a name or address the API would refuse raises the
`Dm3ApiError(422, message)` the API would answer, without a request.

Modules: `calls` builds every request and reads every response (no I/O); `changes` is the change feed (the
stream's requests and cursor, what each change kind means for a cached pair); `sync_client` and `async_client`
only execute them; `cache` is `EligibilityCache`. The eligibility rule itself is `indexer.eligibility_rule`.

Trust no indexer: `api.eligibility(sender, recipient, proof=True)` carries InboxDeposits storage proofs, and
`verify_eligibility_proof(answer, your_node_url_or_web3, deposits=...)` checks them against a header from your own
node and recomputes the verdict from the proven facts (`indexer.proofs.eligibility`).
"""

from indexer.api.queries.changes import ChangeOut, ChangesPage
from indexer.api.routes.relay import RelayAccepted, RelayConfig, RelayStatus
from indexer.api.schemas import (
    BondOut,
    DepositsPage,
    EligibilityResponse,
    ProfileResponse,
    ProvenEligibilityResponse,
    RecipientResponse,
    StatusResponse,
)
from indexer.client.async_client import AsyncDm3Client
from indexer.client.cache import EligibilityCache
from indexer.client.calls import BATCH_LIMIT as BATCH_LIMIT  # the names of the former module, importable
from indexer.client.calls import Dm3ApiError, relay_body
from indexer.client.changes import STREAM_READ_TIMEOUT as STREAM_READ_TIMEOUT
from indexer.client.sync_client import Dm3Client
from indexer.proofs.eligibility import EligibilityProofError, VerifiedEligibility, verify_eligibility_proof
from indexer.signing import typed_data

__all__ = [
    "AsyncDm3Client",
    "BondOut",
    "ChangeOut",
    "ChangesPage",
    "DepositsPage",
    "Dm3ApiError",
    "Dm3Client",
    "EligibilityCache",
    "EligibilityProofError",
    "EligibilityResponse",
    "ProfileResponse",
    "ProvenEligibilityResponse",
    "RecipientResponse",
    "RelayAccepted",
    "RelayConfig",
    "RelayStatus",
    "StatusResponse",
    "VerifiedEligibility",
    "relay_body",
    "typed_data",
    "verify_eligibility_proof",
]
