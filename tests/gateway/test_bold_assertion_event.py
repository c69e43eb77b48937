"""The gateway reads BOLD's `AssertionCreated` as nitro-contracts emits it.

The log is built here with eth_abi from upstream's definitions, written out independently of the gateway's
constants (src/rollup/IRollupCore.sol `AssertionCreated`, src/rollup/Assertion.sol `AssertionInputs`,
`BeforeStateData`, `ConfigData`, src/rollup/AssertionState.sol, src/state/GlobalState.sol), with a before-state
unlike the after-state so that reading the wrong one shows; every other log is refused, never half-read.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from indexer.gateway.proving import ASSERTION_CREATED_TOPIC, ProofUnavailable, decode_assertion_created

# struct GlobalState { bytes32[2] bytes32Vals; uint64[2] u64Vals; }
GLOBAL_STATE = "(bytes32[2],uint64[2])"
# struct AssertionState { GlobalState globalState; MachineStatus machineStatus; bytes32 endHistoryRoot; }
ASSERTION_STATE = f"({GLOBAL_STATE},uint8,bytes32)"
# struct ConfigData { bytes32 wasmModuleRoot; uint256 requiredStake; address challengeManager;
#                     uint64 confirmPeriodBlocks; uint64 nextInboxPosition; }
CONFIG_DATA = "(bytes32,uint256,address,uint64,uint64)"
# struct BeforeStateData { bytes32 prevPrevAssertionHash; bytes32 sequencerBatchAcc; ConfigData configData; }
BEFORE_STATE_DATA = f"(bytes32,bytes32,{CONFIG_DATA})"
# struct AssertionInputs { BeforeStateData beforeStateData; AssertionState beforeState; AssertionState afterState; }
ASSERTION_INPUTS = f"({BEFORE_STATE_DATA},{ASSERTION_STATE},{ASSERTION_STATE})"
# event AssertionCreated(bytes32 indexed assertionHash, bytes32 indexed parentAssertionHash,
#     AssertionInputs assertion, bytes32 afterInboxBatchAcc, uint256 inboxMaxCount, bytes32 wasmModuleRoot,
#     uint256 requiredStake, address challengeManager, uint64 confirmPeriodBlocks)
DATA_TYPES = [ASSERTION_INPUTS, "bytes32", "uint256", "bytes32", "uint256", "address", "uint64"]
SIGNATURE = f"AssertionCreated(bytes32,bytes32,{','.join(DATA_TYPES)})"
#: topic0 of the event on Arbitrum One's BOLD rollup (the keccak of the signature above).
MAINNET_TOPIC = "0x901c3aee23cf4478825462caaab375c606ab83516060388344f0650340753630"

PARENT = keccak(b"parent")
PREV_PREV = keccak(b"prev prev")
BLOCK_HASH, SEND_ROOT = keccak(b"l2 block"), keccak(b"send root")
BEFORE_STATE = ((keccak(b"old block"), keccak(b"old send root")), (7, 0)), 1, keccak(b"old history")
AFTER_STATE = ((BLOCK_HASH, SEND_ROOT), (9, 0)), 1, keccak(b"history")
INBOX_ACC = keccak(b"inbox acc")


def _hash(parent: bytes, state: Any, inbox_acc: bytes) -> bytes:
    # RollupLib.assertionHash: keccak256(abi.encodePacked(parent, keccak256(abi.encode(afterState)), inboxAcc))
    return keccak(parent + keccak(encode([ASSERTION_STATE], [state])) + inbox_acc)


ASSERTION = _hash(PARENT, AFTER_STATE, INBOX_ACC)


def _log(
    *,
    assertion: bytes = ASSERTION,
    parent: bytes = PARENT,
    after: Any = AFTER_STATE,
    inbox_acc: bytes = INBOX_ACC,
    topic: str = MAINNET_TOPIC,
) -> dict[str, Any]:
    config = (keccak(b"wasm"), 10**18, "0x" + "cc" * 20, 45_818, 12)
    inputs = ((PREV_PREV, keccak(b"before acc"), config), BEFORE_STATE, after)
    data = encode(DATA_TYPES, [inputs, inbox_acc, 13, keccak(b"wasm"), 10**18, "0x" + "cc" * 20, 45_818])
    return {
        "address": "0x" + "ab" * 20,
        "topics": [topic, "0x" + assertion.hex(), "0x" + parent.hex()],
        "data": "0x" + data.hex(),
    }


def test_topic_is_upstreams_and_mainnets() -> None:
    assert keccak(text=SIGNATURE).hex() == MAINNET_TOPIC[2:]
    assert "0x" + ASSERTION_CREATED_TOPIC.hex() == MAINNET_TOPIC


def test_decodes_the_after_state_parent_and_inbox_accumulator() -> None:
    assertion = decode_assertion_created(_log(), ASSERTION)
    assert assertion.assertion_hash == ASSERTION
    assert assertion.parent_assertion_hash == PARENT
    assert assertion.inbox_acc == INBOX_ACC
    assert assertion.encoded_state == encode([ASSERTION_STATE], [AFTER_STATE])
    assert assertion.block_hash == BLOCK_HASH  # the after-state's, not the before-state's


@pytest.mark.parametrize(
    "log, reason",
    [
        (_log(topic="0x" + keccak(b"AssertionCreated(bytes32,bytes32)").hex()), "not BOLD's"),
        (_log(assertion=keccak(b"another")), "not BOLD's"),  # asked for one assertion, got another's log
        (_log(parent=keccak(b"other parent")), "does not hash"),
        (_log(inbox_acc=keccak(b"other acc")), "does not hash"),
        (_log(after=BEFORE_STATE), "does not hash"),
        ({**_log(), "data": _log()["data"][: -64 * 20]}, "not BOLD's"),  # truncated
        ({**_log(), "data": "0x"}, "not BOLD's"),
        ({**_log(), "topics": _log()["topics"][:2]}, "not BOLD's"),
        ({**_log(), "data": "0xzz"}, "not BOLD's"),
        ({"topics": []}, "not BOLD's"),
    ],
)
def test_refuses_any_other_log(log: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProofUnavailable, match=reason):
        decode_assertion_created(log, ASSERTION)


def test_refuses_the_old_harness_layout() -> None:
    """The pre-BOLD-layout event (after-state and accumulator only) is another event: refused, not misread."""
    old_topic = keccak(text=f"AssertionCreated(bytes32,bytes32,{ASSERTION_STATE},bytes32)")
    old = {
        "topics": ["0x" + old_topic.hex(), "0x" + ASSERTION.hex(), "0x" + PARENT.hex()],
        "data": "0x" + encode([ASSERTION_STATE, "bytes32"], [AFTER_STATE, INBOX_ACC]).hex(),
    }
    with pytest.raises(ProofUnavailable, match="not BOLD's"):
        decode_assertion_created(old, ASSERTION)
