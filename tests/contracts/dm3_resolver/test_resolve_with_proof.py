"""`resolveWithProof(response, extraData)`: the gateway's signed answer, checked as ENS's reference resolver does."""

from __future__ import annotations

from typing import Any

from eth_abi import decode, encode
from hypothesis import given
from hypothesis import strategies as st

from .resolver_helpers import (
    MAX_RESULT_LENGTH,
    RESPONSE_TYPES,
    SECP256K1_N,
    Gateway,
    addr_call,
    callback_calldata,
    dns_encode,
    multicall,
    namehash,
    resolve_request,
    text_answer,
    text_call,
)

NAME = "alice.op.dm3.eth"
NODE = namehash(NAME)
REQUEST = resolve_request(dns_encode(NAME), text_call(NODE, "network.dm3.profile"))
PROFILE = "data:application/json," + '{"profile":{}}'
RESULT = text_answer(PROFILE)


def _with_signature(result: bytes, expires: int, signature: bytes) -> bytes:
    return encode(RESPONSE_TYPES, [result, expires, signature])


def test_resolve_with_proof__65_byte_signature__returns_result(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    response = gateway.respond(resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 60)

    assert verify(resolver, response, REQUEST) == (True, RESULT)


def test_resolve_with_proof__64_byte_eip2098_signature__returns_result(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    response = gateway.respond(
        resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 60, compact=True
    )

    assert len(decode(RESPONSE_TYPES, response)[2]) == 64
    assert verify(resolver, response, REQUEST) == (True, RESULT)


def test_resolve_with_proof__through_ape__returns_result(resolver: Any, gateway: Gateway, now: int) -> None:
    response = gateway.respond(resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 60)

    assert bytes(resolver.resolveWithProof(response, REQUEST)) == RESULT
    assert decode(["string"], bytes(resolver.resolveWithProof(response, REQUEST)))[0] == PROFILE


def test_resolve_with_proof__full_lookup_round_trip(
    resolver: Any, gateway: Gateway, lookup: Any, verify: Any, now: int
) -> None:
    """What a CCIP-read client does: take sender and extraData from the error, call back with the response."""
    found = lookup(resolver, dns_encode(NAME), text_call(NODE, "network.dm3.profile"))
    response = gateway.respond(
        resolver=found.sender, request=found.call_data, result=RESULT, expires=now + 60
    )

    assert verify(resolver, response, found.extra_data) == (True, RESULT)


def test_resolve_with_proof__multicall__answered_in_one_lookup(
    resolver: Any, gateway: Gateway, lookup: Any, verify: Any, now: int
) -> None:
    calls = [text_call(NODE, "network.dm3.profile"), text_call(NODE, "avatar"), addr_call(NODE)]
    answers = [RESULT, text_answer("https://example.com/a.png"), encode(["address"], [gateway.address])]
    result = encode(["bytes[]"], [answers])
    found = lookup(resolver, dns_encode(NAME), multicall(calls))
    response = gateway.respond(
        resolver=found.sender, request=found.extra_data, result=result, expires=now + 60
    )

    ok, returned = verify(resolver, response, found.extra_data)

    assert ok and returned == result
    assert list(decode(["bytes[]"], returned)[0]) == answers


def test_resolve_with_proof__expires_now__accepted(
    resolver: Any, gateway: Gateway, verify: Any, web3: Any
) -> None:
    block = web3.eth.get_block("latest")
    response = gateway.respond(
        resolver=resolver.address, request=REQUEST, result=RESULT, expires=block["timestamp"]
    )

    assert verify(resolver, response, REQUEST, block=block["number"]) == (True, RESULT)


def test_resolve_with_proof__expired_one_second_ago__reverts(
    resolver: Any, gateway: Gateway, verify: Any, web3: Any
) -> None:
    block = web3.eth.get_block("latest")
    response = gateway.respond(
        resolver=resolver.address, request=REQUEST, result=RESULT, expires=block["timestamp"] - 1
    )

    assert verify(resolver, response, REQUEST, block=block["number"]) == (
        False,
        "resolver: signature expired",
    )


def test_resolve_with_proof__expiry_boundary_in_a_mined_block(
    resolver: Any, gateway: Gateway, owner: Any, web3: Any, chain: Any
) -> None:
    """The same boundary inside a real block: `expires == block.timestamp` passes, one second less fails."""

    def mined_status(expires: int, timestamp: int) -> int:
        response = gateway.respond(resolver=resolver.address, request=REQUEST, result=RESULT, expires=expires)
        web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
        tx_hash = web3.eth.send_transaction(
            {
                "from": owner.address,
                "to": resolver.address,
                "data": "0x" + callback_calldata(response, REQUEST).hex(),
                "gas": 200_000,
            }
        )
        return int(web3.eth.wait_for_transaction_receipt(tx_hash)["status"])

    start = int(web3.eth.get_block("latest")["timestamp"]) + 100
    assert mined_status(expires=start, timestamp=start) == 1
    assert mined_status(expires=start + 99, timestamp=start + 100) == 0


def test_resolve_with_proof__tampered_result__reverts(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    response = gateway.respond(resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 60)
    _, expires, signature = decode(RESPONSE_TYPES, response)
    forged = text_answer(PROFILE.replace("{}", '{"x":1}'))

    assert verify(resolver, _with_signature(forged, expires, signature), REQUEST) == (
        False,
        "resolver: invalid signer",
    )


def test_resolve_with_proof__tampered_expiry__reverts(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    response = gateway.respond(resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 60)
    result, expires, signature = decode(RESPONSE_TYPES, response)

    assert verify(resolver, _with_signature(result, expires + 3600, signature), REQUEST) == (
        False,
        "resolver: invalid signer",
    )


def test_resolve_with_proof__answer_for_another_request__reverts(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    """An answer signed for alice's profile must not pass as the answer to bob's."""
    response = gateway.respond(resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 60)
    other_request = resolve_request(dns_encode("bob.op.dm3.eth"), text_call(namehash("bob.op.dm3.eth"), "x"))

    assert verify(resolver, response, other_request) == (False, "resolver: invalid signer")


def test_resolve_with_proof__signed_for_another_resolver__reverts(
    resolver: Any, other_resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    response = gateway.respond(
        resolver=other_resolver.address, request=REQUEST, result=RESULT, expires=now + 60
    )

    assert verify(other_resolver, response, REQUEST) == (True, RESULT)
    assert verify(resolver, response, REQUEST) == (False, "resolver: invalid signer")


def test_resolve_with_proof__unknown_signer__reverts(
    resolver: Any, second_gateway: Gateway, verify: Any, now: int
) -> None:
    response = second_gateway.respond(
        resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 60
    )

    assert verify(resolver, response, REQUEST) == (False, "resolver: invalid signer")


def test_resolve_with_proof__high_s_signature__reverts(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    """The malleable twin (r, n - s, v ^ 1) of a valid signature recovers the same key and must be refused."""
    digest = Gateway.digest(resolver=resolver.address, expires=now + 60, request=REQUEST, result=RESULT)
    r, s, v = gateway.sign(digest)
    twin = r.to_bytes(32, "big") + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])

    assert verify(resolver, _with_signature(RESULT, now + 60, twin), REQUEST) == (
        False,
        "ecdsa: invalid signature `s` value",
    )


def test_resolve_with_proof__v_not_27_or_28__reverts(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    digest = Gateway.digest(resolver=resolver.address, expires=now + 60, request=REQUEST, result=RESULT)
    r, s, v = gateway.sign(digest)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v - 27])

    assert verify(resolver, _with_signature(RESULT, now + 60, signature), REQUEST) == (
        False,
        "ecdsa: invalid signature",
    )


def test_resolve_with_proof__zero_signature__reverts(resolver: Any, verify: Any, now: int) -> None:
    assert verify(resolver, _with_signature(RESULT, now + 60, b"\x00" * 65), REQUEST) == (
        False,
        "ecdsa: invalid signature",
    )


def test_resolve_with_proof__wrong_signature_length__reverts(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    digest = Gateway.digest(resolver=resolver.address, expires=now + 60, request=REQUEST, result=RESULT)
    signature = gateway.signature(digest)

    for bad in (b"", signature[:63], signature + b"\x00", signature[:64] + b"\x1b\x00"):
        assert verify(resolver, _with_signature(RESULT, now + 60, bad), REQUEST) == (
            False,
            "resolver: invalid signature length",
        )


def test_resolve_with_proof__malformed_response__reverts(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    response = gateway.respond(resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 60)
    assert verify(resolver, response, REQUEST)[0]

    truncated = response[:-40]
    result_out_of_bounds = (len(response)).to_bytes(32, "big") + response[32:]
    dirty_expires = response[:32] + (1 << 64 | (now + 60)).to_bytes(32, "big") + response[64:]
    huge_length = response[:96] + (2**256 - 1).to_bytes(32, "big") + response[128:]
    for bad in (truncated, result_out_of_bounds, dirty_expires, huge_length, b"", response[:95]):
        assert verify(resolver, bad, REQUEST) == (False, "")


def test_resolve_with_proof__result_at_cap__returns_result(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    result = bytes(range(256)) * (MAX_RESULT_LENGTH // 256)
    response = gateway.respond(resolver=resolver.address, request=REQUEST, result=result, expires=now + 60)

    assert verify(resolver, response, REQUEST) == (True, result)


def test_resolve_with_proof__result_over_cap__reverts(
    resolver: Any, gateway: Gateway, verify: Any, now: int
) -> None:
    result = b"\x01" * (MAX_RESULT_LENGTH + 32)
    response = gateway.respond(resolver=resolver.address, request=REQUEST, result=result, expires=now + 60)

    assert verify(resolver, response, REQUEST) == (False, "")


def test_resolve_with_proof__same_gateway_answer_verifies_on_ens_reference_resolver(
    resolver: Any, reference_resolver: Any, gateway: Gateway, lookup: Any, verify: Any, now: int
) -> None:
    """One gateway, one signing recipe: the answer verifies on ENS's OffchainResolver and on ours."""
    for compact in (False, True):
        for target in (resolver, reference_resolver):
            found = lookup(target, dns_encode(NAME), text_call(NODE, "network.dm3.profile"))
            response = gateway.respond(
                resolver=found.sender,
                request=found.extra_data,
                result=RESULT,
                expires=now + 60,
                compact=compact,
            )
            assert verify(target, response, found.extra_data) == (True, RESULT)

    # Each answer is bound to its resolver: ours does not pass on theirs, nor theirs on ours.
    ours = gateway.respond(resolver=resolver.address, request=REQUEST, result=RESULT, expires=now + 60)
    theirs = gateway.respond(
        resolver=reference_resolver.address, request=REQUEST, result=RESULT, expires=now + 60
    )
    assert verify(reference_resolver, ours, REQUEST) == (False, "SignatureVerifier: Invalid sigature")
    assert verify(resolver, theirs, REQUEST) == (False, "resolver: invalid signer")


def test_make_signature_hash__matches_ens_reference_and_gateway(
    resolver: Any, reference_resolver: Any, now: int
) -> None:
    args = (resolver.address, now + 60, REQUEST, RESULT)
    expected = Gateway.digest(resolver=args[0], expires=args[1], request=args[2], result=args[3])

    assert bytes(resolver.makeSignatureHash(*args)) == expected
    assert bytes(reference_resolver.makeSignatureHash(*args)) == expected


def test_resolve_with_proof__gas__not_above_ens_reference(
    resolver: Any, reference_resolver: Any, gateway: Gateway, owner: Any, web3: Any, now: int
) -> None:
    """The benchmark case: a 500-byte text answer, 65-byte signature, eth_estimateGas on both resolvers."""
    result = text_answer("x" * 500)

    def estimate(target: Any) -> int:
        response = gateway.respond(resolver=target.address, request=REQUEST, result=result, expires=now + 60)
        call = {
            "from": owner.address,
            "to": target.address,
            "data": "0x" + callback_calldata(response, REQUEST).hex(),
        }
        return int(web3.eth.estimate_gas(call))

    ours, theirs = estimate(resolver), estimate(reference_resolver)
    print(f"resolveWithProof gas, 500-byte text answer: Dm3Resolver {ours}, ENS OffchainResolver {theirs}")
    assert ours <= theirs


@given(
    result=st.binary(min_size=0, max_size=2048),
    lifetime=st.integers(min_value=0, max_value=2**32),
    compact=st.booleans(),
    data=st.binary(min_size=0, max_size=600),
)
def test_resolve_with_proof__any_signed_answer__round_trips(
    resolver: Any,
    gateway: Gateway,
    verify: Any,
    web3: Any,
    result: bytes,
    lifetime: int,
    compact: bool,
    data: bytes,
) -> None:
    block = web3.eth.get_block("latest")
    request = resolve_request(dns_encode(NAME), data)
    response = gateway.respond(
        resolver=resolver.address,
        request=request,
        result=result,
        expires=block["timestamp"] + lifetime,
        compact=compact,
    )

    assert verify(resolver, response, request, block=block["number"]) == (True, result)
