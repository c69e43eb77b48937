# pragma version 0.4.3
"""
@title dm3 L1 CCIP-Read Resolver
@custom:contract-name Dm3Resolver
@license MIT
@notice An ENS resolver (ENSIP-10) on L1 that answers every query through a
        CCIP-read (EIP-3668) gateway: `resolve` reverts with `OffchainLookup`,
        the client fetches the answer from one of `urls()`, and `resolveWithProof`
        checks that a trusted signer signed that answer for this resolver and this
        exact request, and that the signature has not expired.

        The request, response and signature formats are those of ENS's reference
        `OffchainResolver` (@ensdomains/offchain-resolver-contracts), so one gateway
        serves both contracts:
        - request (`callData` and `extraData` of the lookup): the calldata of
          `resolve(bytes name, bytes data)`, selector 0x9061b923;
        - response: `abi.encode(bytes result, uint64 expires, bytes sig)`;
        - signed digest: `keccak256(0x1900 ‖ resolver address (20 bytes) ‖
          expires (8 bytes, big-endian) ‖ keccak256(request) ‖ keccak256(result))`,
          signed raw (no EIP-191 prefix beyond the `0x1900` itself);
        - `sig`: 65 bytes `r ‖ s ‖ v` or 64 bytes EIP-2098 `r ‖ vs`; high-s
          (malleable) signatures are refused.

        A `multicall(bytes[])` in `data` is answered in one lookup: the resolver
        forwards any `data` and returns the signed `result` unchanged.
@dev Caps (fixed, ABI-visible): a DNS-encoded name of at most 512 bytes, resolver
     calldata `data` of at most 4096 bytes (a multicall of several text queries),
     a `result` of at most 8192 bytes, at most 8 URLs of at most 256 bytes each,
     and at most 16 signers per `add_signers`/`remove_signers` call. An input over
     a cap is refused by the ABI decoder (a revert without a reason string).
"""


################################################################
#                          INTERFACES                          #
################################################################


from ethereum.ercs import IERC165
implements: IERC165


from interfaces import IExtendedResolver
implements: IExtendedResolver


################################################################
#                           MODULES                            #
################################################################


# @dev The owner (signers and URLs), moved in two steps.
from snekmate.auth import ownable
initializes: ownable


from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]


# @dev Recovery of the gateway's signature (stateless).
from snekmate.utils import ecdsa


################################################################
#                           EXPORTS                            #
################################################################


exports: (
    # Two-step ownership; `renounce_ownership` is deliberately not exported:
    # a resolver without an owner could never rotate a leaked gateway key.
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)


################################################################
#                          CONSTANTS                           #
################################################################


# @notice Maximum length of a DNS-encoded name (DNS allows 255; ENS names can be longer).
MAX_NAME_LENGTH: public(constant(uint256)) = 512


# @notice Maximum length of the resolver calldata forwarded to the gateway.
MAX_DATA_LENGTH: public(constant(uint256)) = 4096


# @notice Maximum length of a signed `result` (the ABI-encoded answer) that always fits:
# `response` is capped at `_MAX_RESPONSE_LENGTH`, sized for this `result` and a 65-byte `sig`.
MAX_RESULT_LENGTH: public(constant(uint256)) = 8192


# @notice Maximum length of one gateway URL.
MAX_URL_LENGTH: public(constant(uint256)) = 256


# @notice Maximum number of gateway URLs.
MAX_URLS: public(constant(uint256)) = 8


# @notice Maximum number of signers in one `add_signers`/`remove_signers` call or at deployment.
MAX_SIGNERS_PER_CALL: public(constant(uint256)) = 16


# @dev `resolve(name, data)` calldata: selector, two offsets, two length words, both payloads padded.
_MAX_REQUEST_LENGTH: constant(uint256) = 4 + 4 * 32 + MAX_NAME_LENGTH + MAX_DATA_LENGTH


# @dev `abi.encode(bytes result, uint64 expires, bytes sig)`: three head words, two length
# words, `result` and a 65-byte `sig` padded to whole words.
_MAX_RESPONSE_LENGTH: constant(uint256) = 5 * 32 + MAX_RESULT_LENGTH + 96


# @dev `resolve(bytes,bytes)`: the ENSIP-10 entry point and the gateway request.
_RESOLVE_SELECTOR: constant(bytes4) = 0x9061b923


# @dev `resolveWithProof(bytes,bytes)`: the EIP-3668 callback.
_CALLBACK_SELECTOR: constant(bytes4) = 0xf4d4d2f8


# @dev `OffchainLookup(address,string[],bytes,bytes4,bytes)`: the EIP-3668 error.
_OFFCHAIN_LOOKUP_SELECTOR: constant(bytes4) = 0x556f1830


# @dev `resolveWithStateProof(bytes,bytes)`: the callback of a parent in a proof mode.
_STATE_PROOF_CALLBACK_SELECTOR: constant(bytes4) = 0x8ca4ab57


# @notice A parent's answers are signed by a trusted gateway signer (the default).
MODE_SIGNED: public(constant(uint8)) = 0


# @notice A parent's answers must carry proofs of the L2 registry's storage.
MODE_PROVEN: public(constant(uint8)) = 1


# @notice Proofs, or a signed answer when the gateway cannot prove (e.g. no acceptable game yet).
MODE_PROVEN_OR_SIGNED: public(constant(uint8)) = 2


# @notice Proof kind 1: an OP-stack chain, proven through a dispute game's output root.
KIND_OP_STACK: public(constant(uint8)) = 1


# @notice Proof kind 2: an Arbitrum chain, proven through a confirmed BOLD assertion.
KIND_ARBITRUM: public(constant(uint8)) = 2


# @dev Maximum number of labels in a DNS-encoded name.
_MAX_LABELS: constant(uint256) = 64


# @dev EIP-165 `supportsInterface(bytes4)`.
_ERC165_INTERFACE_ID: constant(bytes4) = 0x01ffc9a7


# @dev ENSIP-10 `IExtendedResolver`.
_EXTENDED_RESOLVER_INTERFACE_ID: constant(bytes4) = 0x9061b923


################################################################
#                           STORAGE                            #
################################################################


# @notice Whether an address is a trusted gateway signer.
signers: public(HashMap[address, bool])


# @dev The gateway URL templates (EIP-3668 `{sender}`/`{data}`), tried in order.
_urls: DynArray[String[MAX_URL_LENGTH], MAX_URLS]


# @notice How a parent's answers are verified, per parent node (namehash of e.g. `op.dm3.eth`).
struct ProofConfig:
    mode: uint8
    kind: uint8
    registry: address
    rollup: address
    anchor_state_registry: address
    min_age: uint64
    verifier: address


# @notice The proof configuration of each parent; unset parents are `MODE_SIGNED`.
proof_configs: public(HashMap[bytes32, ProofConfig])


################################################################
#                            EVENTS                            #
################################################################


# @notice A parent's verification mode changed.
# @param parent The parent's node.
# @param mode `MODE_SIGNED`, `MODE_PROVEN` or `MODE_PROVEN_OR_SIGNED`.
# @param kind `KIND_OP_STACK` or `KIND_ARBITRUM` (0 for `MODE_SIGNED`).
# @param registry The L2 ProfileRegistry whose storage is proven.
# @param rollup OP: the DisputeGameFactory; Arbitrum: the rollup contract.
# @param anchor_state_registry OP: the AnchorStateRegistry (zero for Arbitrum).
# @param min_age OP: seconds an unresolved game must have stood unchallenged.
# @param verifier The Dm3ProofVerifier that checks the proofs.
event ProofConfigChanged:
    parent: indexed(bytes32)
    mode: uint8
    kind: uint8
    registry: address
    rollup: address
    anchor_state_registry: address
    min_age: uint64
    verifier: address


# @notice Gateway signers are trusted (also at deployment).
# @param signers The signers added.
event SignersAdded:
    signers: DynArray[address, MAX_SIGNERS_PER_CALL]


# @notice Gateway signers stopped being trusted.
# @param signers The signers removed.
event SignersRemoved:
    signers: DynArray[address, MAX_SIGNERS_PER_CALL]


# @notice The gateway URL list was replaced (also at deployment).
# @param urls The new URL templates.
event UrlsChanged:
    urls: DynArray[String[MAX_URL_LENGTH], MAX_URLS]


################################################################
#                         CONSTRUCTOR                          #
################################################################


@deploy
def __init__(
    urls: DynArray[String[MAX_URL_LENGTH], MAX_URLS],
    signers: DynArray[address, MAX_SIGNERS_PER_CALL],
    owner: address,
):
    """
    @dev `owner` becomes the owner; the deployer gets nothing (ownership moves from it to
         `owner` inside the constructor, so the address does not depend on who deploys it, e.g.
         the deterministic-deployment proxy). Reverts with "resolver: zero owner" when `owner`
         is the zero address.
    @param urls The gateway URL templates; at least one, none empty.
    @param signers The trusted gateway signers; at least one, no zero address, no duplicate.
    @param owner The owner: manages the signers and URLs.
    """
    assert owner != empty(address), "resolver: zero owner"
    ownable.__init__()
    ownable_2step.__init__()
    ownable_2step._transfer_ownership(owner)
    self._set_urls(urls)
    self._add_signers(signers)


################################################################
#                            VIEWS                             #
################################################################


@external
@view
def resolve(name: Bytes[MAX_NAME_LENGTH], data: Bytes[MAX_DATA_LENGTH]) -> Bytes[MAX_RESULT_LENGTH]:
    """
    @notice ENSIP-10 resolution: always reverts with EIP-3668 `OffchainLookup`.
    @dev Reverts with `OffchainLookup(address(this), urls(), callData,
         callback, callData)`, where `callback` is `resolveWithProof` (signed answers)
         or, when the name's parent is in a proof mode, `resolveWithStateProof`,
         and `callData` is this very
         `resolve(name, data)` calldata (as ENS's reference resolver does).
         `extraData` repeats it so the callback can check that the signed answer
         belongs to this request.
    @param name The DNS-encoded name.
    @param data The ABI-encoded resolver call (e.g. `text(bytes32,string)`, `multicall(bytes[])`).
    @return Never returns; the answer comes from `resolveWithProof`.
    """
    request: Bytes[_MAX_REQUEST_LENGTH] = abi_encode(name, data, method_id=_RESOLVE_SELECTOR)
    callback: bytes4 = _CALLBACK_SELECTOR
    if self.proof_configs[self._parent(name, False)[0]].mode != MODE_SIGNED:
        callback = _STATE_PROOF_CALLBACK_SELECTOR
    raw_revert(
        abi_encode(
            self,
            self._urls,
            request,
            callback,
            request,
            method_id=_OFFCHAIN_LOOKUP_SELECTOR,
        )
    )


@external
@view
def resolveWithProof(
    response: Bytes[_MAX_RESPONSE_LENGTH], extraData: Bytes[_MAX_REQUEST_LENGTH]
) -> Bytes[_MAX_RESPONSE_LENGTH]:
    """
    @notice EIP-3668 callback: checks the gateway's signed answer and returns it.
    @dev `response` is decoded by hand, straight from the argument, with the same
         bounds checks as `abi_decode` (every offset and length must stay inside
         `response`; a dirty `uint64` reverts). Decoding into a tuple would
         allocate further `MAX_RESULT_LENGTH`-sized memory buffers, and memory
         expansion is what a CCIP-read verification mostly pays for; this way the
         answer is copied once for its hash and once for the return.
         Reverts with "resolver: signature expired" when `expires < block.timestamp`,
         "resolver: invalid signature length" when `sig` is not 64 or 65 bytes,
         "resolver: invalid signer" when the recovered signer is not trusted, and
         snekmate's "ecdsa: invalid signature `s` value" (malleable high-s) or
         "ecdsa: invalid signature" (unrecoverable, e.g. `v` not 27 or 28).
    @param response `abi.encode(bytes result, uint64 expires, bytes sig)` from the gateway.
    @param extraData The request: the `resolve(name, data)` calldata from `OffchainLookup`.
    @return The signed `result`: the ABI-encoded answer of the resolver call in `data`.
    """
    result_offset: uint256 = extract32(response, 0, output_type=uint256)
    expires: uint64 = extract32(response, 32, output_type=uint64)
    assert convert(expires, uint256) >= block.timestamp, "resolver: signature expired"

    sig_offset: uint256 = extract32(response, 64, output_type=uint256)
    sig_length: uint256 = extract32(response, sig_offset, output_type=uint256)
    assert sig_length == 64 or sig_length == 65, "resolver: invalid signature length"
    r: uint256 = extract32(response, sig_offset + 32, output_type=uint256)
    s_or_vs: uint256 = extract32(response, sig_offset + 64, output_type=uint256)

    result_start: uint256 = result_offset + 32
    result_length: uint256 = extract32(response, result_offset, output_type=uint256)
    # A statement of its own, so the copy's memory is reused by the `return` below.
    result_hash: bytes32 = keccak256(slice(response, result_start, result_length))
    digest: bytes32 = self._signature_hash(self, expires, keccak256(extraData), result_hash)

    signer: address = empty(address)
    if sig_length == 65:
        v: uint256 = convert(slice(response, sig_offset + 96, 1), uint256)
        signer = ecdsa._try_recover_vrs(digest, v, r, s_or_vs)
    else:
        signer = ecdsa._try_recover_r_vs(digest, r, s_or_vs)
    assert self.signers[signer], "resolver: invalid signer"
    return slice(response, result_start, result_length)


@external
@view
@raw_return
def __default__() -> Bytes[MAX_RESULT_LENGTH + 64]:
    """
    @notice `resolveWithStateProof(bytes response, bytes extraData)` (selector 0x8ca4ab57),
            the EIP-3668 callback of a parent in a proof mode: the answer is proven from
            the L2 ProfileRegistry's storage, anchored in the rollup's commitment on L1 (or,
            in `MODE_PROVEN_OR_SIGNED`, signed by a trusted gateway signer). Any other
            call reverts with "resolver: unknown function".
    @dev Taken here rather than as a declared function so that the arguments are not
         copied to memory (Vyper sizes their buffers by a fixed cap, and memory is
         what large calls pay for): this reads the name and the response's first word
         in place, checks the parent's mode, and forwards the calldata unchanged (a
         static call) to the parent's `Dm3ProofVerifier`, which checks a proof answer
         (`abi.encode(uint8 kind, bytes witness)`, docs/proof-mode.md) or, in
         `MODE_PROVEN_OR_SIGNED`, a signed one (`abi.encode(bytes, uint64, bytes)`,
         first word 0x60) with this resolver's signers; it reads the settings back
         through `proof_config_for` and `signers`. Its answer, the ABI-encoded `bytes`
         result, is returned as it came.
         Reverts with "resolver: malformed witness" for offsets or lengths outside the
         calldata, "resolver: not a resolve request", "resolver: malformed name",
         "resolver: proof mode off" when the name's parent is in `MODE_SIGNED`,
         "resolver: signed answers disabled" for a signed answer in `MODE_PROVEN`, or
         the verifier's reason.
    @return Bytes `abi.encode(bytes result)`: the ABI-encoded answer of the call in `data`.
    """
    size: uint256 = len(msg.data)
    assert size >= 68, "resolver: unknown function"
    assert convert(slice(msg.data, 0, 4), bytes4) == _STATE_PROOF_CALLBACK_SELECTOR, "resolver: unknown function"
    response: uint256 = self._calldata_word(4, size)
    request: uint256 = self._calldata_word(36, size)
    assert response < size and request < size, "resolver: malformed witness"
    response += 4 + 32
    request += 4 + 32
    request_length: uint256 = self._calldata_word(request - 32, size)
    assert request_length >= 4 + 64 and request_length <= size - request, "resolver: malformed witness"
    assert convert(slice(msg.data, request, 4), bytes4) == _RESOLVE_SELECTOR, "resolver: not a resolve request"
    name_offset: uint256 = self._calldata_word(request + 4, size)
    assert name_offset < request_length, "resolver: malformed witness"
    name_position: uint256 = request + 4 + name_offset
    name_length: uint256 = self._calldata_word(name_position, size)
    assert name_length <= MAX_NAME_LENGTH, "resolver: malformed name"
    assert name_position + 32 + name_length <= request + request_length, "resolver: malformed witness"
    config: ProofConfig = self.proof_configs[self._parent(self._calldata_name(name_position + 32, name_length), True)[0]]
    assert config.mode != MODE_SIGNED, "resolver: proof mode off"
    if self._calldata_word(response, size) == 96:
        assert config.mode == MODE_PROVEN_OR_SIGNED, "resolver: signed answers disabled"
    return raw_call(config.verifier, msg.data, max_outsize=MAX_RESULT_LENGTH + 64, is_static_call=True)


@external
@view
def proof_config_for(name: Bytes[MAX_NAME_LENGTH]) -> (uint8, address, address, address, uint64, bytes32):
    """
    @notice The proof settings that apply to a DNS-encoded name, and the name's node.
    @dev Reverts with "resolver: proof mode off" when its parent is in `MODE_SIGNED`.
    @param name The DNS-encoded name.
    @return uint8 The proof kind.
    @return address The L2 ProfileRegistry.
    @return address The DisputeGameFactory (OP) or the rollup (Arbitrum).
    @return address The AnchorStateRegistry (OP).
    @return uint64 The minimum age of an unresolved game (OP).
    @return bytes32 The name's node.
    """
    parent: bytes32 = empty(bytes32)
    node: bytes32 = empty(bytes32)
    parent, node = self._parent(name, True)
    config: ProofConfig = self.proof_configs[parent]
    assert config.mode != MODE_SIGNED, "resolver: proof mode off"
    return config.kind, config.registry, config.rollup, config.anchor_state_registry, config.min_age, node


@external
@pure
def makeSignatureHash(
    target: address,
    expires: uint64,
    request: Bytes[_MAX_REQUEST_LENGTH],
    result: Bytes[MAX_RESULT_LENGTH],
) -> bytes32:
    """
    @notice The digest a gateway signs, as ENS's reference `makeSignatureHash`.
    @param target The resolver the answer is for.
    @param expires The signature's expiry (unix seconds).
    @param request The `resolve(name, data)` calldata (the lookup's `extraData`).
    @param result The ABI-encoded answer.
    @return The 32-byte digest to sign with the raw secp256k1 key.
    """
    return self._signature_hash(target, expires, keccak256(request), keccak256(result))


@external
@view
def urls() -> DynArray[String[MAX_URL_LENGTH], MAX_URLS]:
    """
    @notice The gateway URL templates, in the order clients try them.
    @return The current URL list.
    """
    return self._urls


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @notice EIP-165.
    @param interface_id The interface identifier.
    @return True for EIP-165 (0x01ffc9a7) and ENSIP-10 (0x9061b923), false otherwise.
    """
    return interface_id in [_ERC165_INTERFACE_ID, _EXTENDED_RESOLVER_INTERFACE_ID]


################################################################
#                       OWNER FUNCTIONS                        #
################################################################


@external
def add_signers(signers: DynArray[address, MAX_SIGNERS_PER_CALL]):
    """
    @notice Trusts new gateway signers. Owner only.
    @dev Reverts for an empty list, the zero address, or an address already trusted.
    @param signers The signers to trust.
    """
    ownable._check_owner()
    self._add_signers(signers)


@external
def remove_signers(signers: DynArray[address, MAX_SIGNERS_PER_CALL]):
    """
    @notice Stops trusting gateway signers; their answers are refused at once. Owner only.
    @dev Reverts for an empty list or an address that is not a signer. Removing
         every signer is allowed: the resolver then answers nothing until one is added.
    @param signers The signers to remove.
    """
    ownable._check_owner()
    assert len(signers) != 0, "resolver: no signers"
    for signer: address in signers:
        assert self.signers[signer], "resolver: not a signer"
        self.signers[signer] = False
    log SignersRemoved(signers=signers)


@external
def set_urls(urls: DynArray[String[MAX_URL_LENGTH], MAX_URLS]):
    """
    @notice Replaces the gateway URL list. Owner only.
    @param urls The new URL templates; at least one, none empty.
    """
    ownable._check_owner()
    self._set_urls(urls)


@external
def set_proof_config(
    parent: bytes32,
    mode: uint8,
    kind: uint8,
    registry: address,
    rollup: address,
    anchor_state_registry: address,
    min_age: uint64,
    verifier: address,
):
    """
    @notice Sets how the answers for names under `parent` are verified. Owner only.
    @dev `MODE_SIGNED` clears the configuration (kind, addresses and age must be zero).
         A proof mode needs `kind` 1 (OP stack: `rollup` is the DisputeGameFactory,
         `anchor_state_registry` the AnchorStateRegistry, `min_age` the seconds an
         unresolved game must have stood) or 2 (Arbitrum: `rollup` is the rollup
         contract, no registry, no age), and the L2 ProfileRegistry's address.
    @param parent The parent's node (namehash).
    @param mode `MODE_SIGNED`, `MODE_PROVEN` or `MODE_PROVEN_OR_SIGNED`.
    @param kind `KIND_OP_STACK` or `KIND_ARBITRUM`.
    @param registry The ProfileRegistry on the L2.
    @param rollup The DisputeGameFactory (OP) or the rollup (Arbitrum) on L1.
    @param anchor_state_registry The AnchorStateRegistry (OP only).
    @param min_age The minimum age of an unresolved game (OP only).
    @param verifier The Dm3ProofVerifier checking the proofs (zero in `MODE_SIGNED`).
    """
    ownable._check_owner()
    assert mode <= MODE_PROVEN_OR_SIGNED, "resolver: invalid mode"
    if mode == MODE_SIGNED:
        assert kind == 0 and registry == empty(address) and rollup == empty(address), "resolver: signed mode takes no proof settings"
        assert anchor_state_registry == empty(address) and min_age == 0, "resolver: signed mode takes no proof settings"
        assert verifier == empty(address), "resolver: signed mode takes no proof settings"
    else:
        assert kind == KIND_OP_STACK or kind == KIND_ARBITRUM, "resolver: invalid proof kind"
        assert registry != empty(address) and rollup != empty(address), "resolver: zero proof address"
        assert verifier.is_contract, "resolver: verifier is not a contract"
        if kind == KIND_OP_STACK:
            assert anchor_state_registry != empty(address), "resolver: zero proof address"
        else:
            assert anchor_state_registry == empty(address) and min_age == 0, "resolver: arbitrum takes no game settings"
    self.proof_configs[parent] = ProofConfig(
        mode=mode,
        kind=kind,
        registry=registry,
        rollup=rollup,
        anchor_state_registry=anchor_state_registry,
        min_age=min_age,
        verifier=verifier,
    )
    log ProofConfigChanged(
        parent=parent,
        mode=mode,
        kind=kind,
        registry=registry,
        rollup=rollup,
        anchor_state_registry=anchor_state_registry,
        min_age=min_age,
        verifier=verifier,
    )


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@internal
def _add_signers(signers: DynArray[address, MAX_SIGNERS_PER_CALL]):
    """
    @dev Trusts `signers` and logs `SignersAdded`. The zero address is refused:
         it is what a failed recovery yields, so trusting it would accept garbage.
    @param signers The signers to trust; at least one.
    """
    assert len(signers) != 0, "resolver: no signers"
    for signer: address in signers:
        assert signer != empty(address), "resolver: zero signer"
        assert not self.signers[signer], "resolver: already a signer"
        self.signers[signer] = True
    log SignersAdded(signers=signers)


@internal
def _set_urls(urls: DynArray[String[MAX_URL_LENGTH], MAX_URLS]):
    """
    @dev Replaces the URL list and logs `UrlsChanged`.
    @param urls The new URL templates; at least one, none empty.
    """
    assert len(urls) != 0, "resolver: no urls"
    for url: String[MAX_URL_LENGTH] in urls:
        assert len(url) != 0, "resolver: empty url"
    self._urls = urls
    log UrlsChanged(urls=urls)


@internal
@pure
def _signature_hash(target: address, expires: uint64, request_hash: bytes32, result_hash: bytes32) -> bytes32:
    """
    @dev `keccak256(0x1900 ‖ target ‖ expires ‖ request_hash ‖ result_hash)`, packed:
         2 + 20 + 8 + 32 + 32 = 94 bytes, as ENS's `SignatureVerifier.makeSignatureHash`.
    @param target The resolver the answer is for.
    @param expires The signature's expiry, 8 bytes big-endian.
    @param request_hash `keccak256` of the request.
    @param result_hash `keccak256` of the result.
    @return The digest the gateway signs.
    """
    return keccak256(concat(x"1900", convert(target, bytes20), convert(expires, bytes8), request_hash, result_hash))


@internal
@view
def _parent(name: Bytes[MAX_NAME_LENGTH], strict: bool) -> (bytes32, bytes32):
    """
    @dev The most specific configured parent of a DNS-encoded name (zero when none) and
         the name's own node. A malformed name (a label running past the name, more than
         `_MAX_LABELS` labels, bytes after the root label) reverts with "resolver:
         malformed name" when `strict`, else has no parent (`resolve` keeps answering
         any input with the signed path's lookup).
    @param name The DNS-encoded name.
    @param strict Whether a malformed name reverts.
    @return bytes32 The parent's node, or zero.
    @return bytes32 The name's node.
    """
    starts: DynArray[uint256, _MAX_LABELS] = []
    position: uint256 = 0
    well_formed: bool = False
    for i: uint256 in range(_MAX_LABELS + 1):
        if position >= len(name):
            break
        length: uint256 = convert(slice(name, position, 1), uint256)
        if length == 0:
            well_formed = position + 1 == len(name)
            break
        if i == _MAX_LABELS:
            break
        starts.append(position)
        position += 1 + length
    if not well_formed:
        assert not strict, "resolver: malformed name"
        return empty(bytes32), empty(bytes32)
    node: bytes32 = empty(bytes32)
    parent: bytes32 = empty(bytes32)
    count: uint256 = len(starts)
    for j: uint256 in range(_MAX_LABELS):
        if j == count:
            break
        start: uint256 = starts[count - 1 - j]
        label_length: uint256 = convert(slice(name, start, 1), uint256)
        node = keccak256(concat(node, keccak256(slice(name, start + 1, label_length))))
        if self.proof_configs[node].mode != MODE_SIGNED:
            parent = node
    return parent, node



@internal
@view
def _calldata_word(position: uint256, size: uint256) -> uint256:
    """
    @dev The calldata word at `position`; "resolver: malformed witness" past the end.
    """
    assert position <= size and size - position >= 32, "resolver: malformed witness"
    return convert(slice(msg.data, position, 32), uint256)


@internal
@view
def _calldata_name(start: uint256, length: uint256) -> Bytes[MAX_NAME_LENGTH]:
    """
    @dev `length` (at most `MAX_NAME_LENGTH`) calldata bytes from `start`, bounds-checked
         by the caller. A constant-length slice of `msg.data` must end inside the calldata,
         so near its end the read starts earlier.
    """
    size: uint256 = len(msg.data)
    if start + MAX_NAME_LENGTH <= size:
        return slice(slice(msg.data, start, MAX_NAME_LENGTH), 0, length)
    assert size >= MAX_NAME_LENGTH, "resolver: malformed witness"
    return slice(slice(msg.data, size - MAX_NAME_LENGTH, MAX_NAME_LENGTH), start + MAX_NAME_LENGTH - size, length)
