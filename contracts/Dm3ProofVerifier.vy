# pragma version 0.4.3
"""
@title dm3 proof verifier: L2 registry records proven from the rollups' L1 commitments
@custom:contract-name Dm3ProofVerifier
@license MIT
@notice Verifies the proof answers of `Dm3Resolver.resolveWithStateProof`, which forwards
        its own calldata here (a static call): `resolveWithStateProof(bytes response,
        bytes extraData)`, `response = abi.encode(uint8 kind, bytes witness)`
        (docs/proof-mode.md). The caller (the resolver) tells which L2 registry and L1
        contracts the request's name is proven against (`proof_config_for`); this contract
        holds no state and trusts nothing else:
        - its `ANCHOR_VERIFIER` (Dm3AnchorVerifier) checks the game (kind 1, OP stack) or
          the confirmed assertion (kind 2, Arbitrum) the answer names and returns the L2
          state root it vouches for;
        - then the registry's account proof, and the storage proofs of exactly the slots
          the request reads, computed here from the name and the call (ProfileRegistry's
          storage layout), so a gateway cannot prove another record; a `multicall` is
          verified call by call, one group of storage proofs per inner call.
        A signed answer (first word 0x60), which the resolver forwards only in its
        proven-or-signed mode, gets the signed path's checks (in the anchor verifier)
        against the caller's signers.
@dev A separate contract because the resolver with the verification inside exceeds the
     24,576-byte code limit, and the anchor checks in a third for the same reason (this
     contract with them came to ~29.4 kB once it verified multicalls). The response is
     never copied whole: its ABI head is parsed from calldata and nodes are copied one
     proof at a time.
"""


# @dev Merkle-Patricia proofs of the L2 registry's account and storage (stateless).
from modules import rlp
from modules import mpt


################################################################
#                          INTERFACES                          #
################################################################


# @dev The resolver: the proof settings of a name (see `Dm3Resolver.proof_config_for`).
interface IProofConfigSource:
    def proof_config_for(name: Bytes[MAX_NAME_LENGTH]) -> (uint8, address, address, address, uint64, bytes32): view


# @dev The L2 state root a rollup's L1 commitment vouches for (Dm3AnchorVerifier).
interface IAnchorVerifier:
    def op_state_root(
        factory: address, anchor_state_registry: address, min_age: uint64, game_index: uint256, preimage: bytes32[4]
    ) -> bytes32: view
    def arbitrum_state_root(
        rollup: address,
        assertion: bytes32,
        parent_assertion: bytes32,
        inbox_acc: bytes32,
        state: Bytes[192],
        header: Bytes[_MAX_HEADER_LENGTH],
    ) -> bytes32: view
    def signed_result(
        resolver: address, response: Bytes[_MAX_COPY_LENGTH], request: Bytes[_MAX_COPY_LENGTH]
    ) -> Bytes[MAX_RESULT_LENGTH]: view


# @dev The settings a name's proofs are checked against (from the resolver).
struct ProofConfig:
    kind: uint8
    registry: address
    rollup: address
    anchor_state_registry: address
    min_age: uint64


################################################################
#                          CONSTANTS                           #
################################################################


# @dev The resolver's caps (Dm3Resolver).
MAX_NAME_LENGTH: constant(uint256) = 512
MAX_DATA_LENGTH: constant(uint256) = 4096
MAX_RESULT_LENGTH: constant(uint256) = 8192


# @dev `resolve(name, data)` calldata and selector.
_MAX_REQUEST_LENGTH: constant(uint256) = 4 + 4 * 32 + MAX_NAME_LENGTH + MAX_DATA_LENGTH
_RESOLVE_SELECTOR: constant(bytes4) = 0x9061b923


# @dev Proof kind 1: an OP-stack chain, proven through a dispute game's output root.
KIND_OP_STACK: constant(uint8) = 1


# @dev Proof kind 2: an Arbitrum chain, proven through a confirmed BOLD assertion.
KIND_ARBITRUM: constant(uint8) = 2


# @dev A signed answer (`abi.encode(bytes result, uint64 expires, bytes sig)`, Dm3Resolver's
# `_MAX_RESPONSE_LENGTH`) and the request are copied from calldata word by word into buffers of
# this size (the 64 bytes: the ABI head of the word array they are gathered in). A proof answer
# is never copied: it has no cap but the calldata's.
_MAX_COPY_LENGTH: constant(uint256) = 5 * 32 + MAX_RESULT_LENGTH + 96 + 64


# @dev `resolveWithStateProof(bytes,bytes)`, taken by `__default__`.
_STATE_PROOF_SELECTOR: constant(bytes4) = 0x8ca4ab57


# @dev `multicall(bytes[])` (ENS's resolvers): at most this many inner calls are proven
# (the gateway's `MAX_MULTICALL`); each inner call is one of the calls below.
_MULTICALL_SELECTOR: constant(bytes4) = 0xac9650d8
MAX_MULTICALL_CALLS: constant(uint256) = 32


# @dev The words of a multicall answer (`abi.encode(bytes[])`), its ABI head included, so that
# with the 64-byte head of the word array it fits `MAX_RESULT_LENGTH`.
_MAX_ANSWER_WORDS: constant(uint256) = MAX_RESULT_LENGTH // 32 - 2


# @dev Maximum number of storage slots one proven answer reads (a 4096-byte text: 129).
MAX_PROVEN_SLOTS: constant(uint256) = 132


# @dev ProfileRegistry's storage layout (`vyper -f layout contracts/ProfileRegistry.vy`;
# tests/contracts/dm3_resolver checks these against it): the slots of its record maps.
_TEXTS_SLOT: constant(uint256) = 3
_ADDRESSES_SLOT: constant(uint256) = 4
_LONG_ADDRESSES_SLOT: constant(uint256) = 5
_CONTENTHASHES_SLOT: constant(uint256) = 6


# @dev ProfileRegistry's packed coin-address word: length in the low byte, 255 for a long address.
_LONG_ADDRESS: constant(uint256) = 255
_COIN_TYPE_ETH: constant(uint256) = 60
_COIN_TYPE_DEFAULT: constant(uint256) = 2**31


# @dev Resolver calls answered from proofs.
_TEXT_SELECTOR: constant(bytes4) = 0x59d1d43c
_ADDR_SELECTOR: constant(bytes4) = 0x3b3b57de
_ADDR_COIN_SELECTOR: constant(bytes4) = 0xf1cb7e06
_CONTENTHASH_SELECTOR: constant(bytes4) = 0xbc1c58d1


# @dev Maximum length of an L2 block header (RLP); a header is well under 1 KiB
# (Dm3AnchorVerifier's `MAX_HEADER_LENGTH`).
_MAX_HEADER_LENGTH: constant(uint256) = 1024


################################################################
#                          IMMUTABLES                          #
################################################################


# @notice The Dm3AnchorVerifier that tells which L2 state root a game or assertion vouches for.
ANCHOR_VERIFIER: public(immutable(IAnchorVerifier))


################################################################
#                         CONSTRUCTOR                          #
################################################################


@deploy
def __init__(anchor_verifier: address):
    """
    @dev Reverts with "resolver: anchor verifier is not a contract".
    @param anchor_verifier A Dm3AnchorVerifier (stateless, any deployment).
    """
    assert anchor_verifier.is_contract, "resolver: anchor verifier is not a contract"
    ANCHOR_VERIFIER = IAnchorVerifier(anchor_verifier)


################################################################
#                            VIEWS                             #
################################################################


@external
@view
@raw_return
def __default__() -> Bytes[MAX_RESULT_LENGTH + 64]:
    """
    @notice `resolveWithStateProof(bytes response, bytes extraData)` (selector 0x8ca4ab57):
            verifies a proof answer for `Dm3Resolver.resolveWithStateProof` (the caller),
            whose settings for the request's name it reads back from the caller. Any other
            call reverts with "resolver: unknown function".
    @dev Taken here rather than as a declared function so that `response` is not copied to
         memory (Vyper would size its buffer by the cap, and memory is what large answers
         pay for): the ABI head is bounds-checked here (every offset and length inside the
         calldata, the request padded to whole words, else "resolver: malformed witness")
         and the response read in place, node by node. `response` is `abi.encode(uint8
         kind, bytes witness)` (docs/proof-mode.md): kind 1 (OP stack) `witness =
         abi.encode(uint256 gameIndex, bytes32[4] outputRootPreimage, bytes[] accountProof,
         bytes[][] storageProofs)`; kind 2 (Arbitrum) `witness = abi.encode(bytes32
         assertionHash, bytes32 parentAssertionHash, bytes32 inboxAcc, bytes
         encodedAssertionState, bytes blockHeaderRlp, bytes[] accountProof, bytes[][]
         storageProofs)`. The storage proofs are those of the slots `_answer` computes from
         the request, in order (a byte string's length slot, then its data slots); for a
         `multicall(bytes[])`, `storageProofs` is `bytes[][][]`: one such group per inner
         call, in the calls' order. `extraData` is the `resolve(name, data)` calldata.
    @return Bytes `abi.encode(bytes result)`: the ABI-encoded answer of the call in `data`.
    """
    size: uint256 = len(msg.data)
    assert size >= 68, "resolver: unknown function"
    assert convert(slice(msg.data, 0, 4), bytes4) == _STATE_PROOF_SELECTOR, "resolver: unknown function"
    response_head: uint256 = self._calldata_word(4, size)
    request_head: uint256 = self._calldata_word(36, size)
    self._well_formed(response_head <= size and request_head <= size)
    # `base`: the response's first byte in calldata; `end`: its length.
    end: uint256 = self._calldata_word(4 + response_head, size)
    base: uint256 = 4 + response_head + 32
    self._well_formed(end <= size - base)
    request_length: uint256 = self._calldata_word(4 + request_head, size)
    assert request_length <= _MAX_REQUEST_LENGTH, "resolver: not a resolve request"
    extraData: Bytes[_MAX_COPY_LENGTH] = self._calldata_bytes(4 + request_head + 32, request_length, size)
    assert len(extraData) >= 4 and convert(slice(extraData, 0, 4), bytes4) == _RESOLVE_SELECTOR, "resolver: not a resolve request"
    name: Bytes[MAX_NAME_LENGTH] = b""
    data: Bytes[MAX_DATA_LENGTH] = b""
    name, data = abi_decode(slice(extraData, 4, len(extraData) - 4), (Bytes[MAX_NAME_LENGTH], Bytes[MAX_DATA_LENGTH]))
    config: ProofConfig = empty(ProofConfig)
    node: bytes32 = empty(bytes32)
    (
        config.kind,
        config.registry,
        config.rollup,
        config.anchor_state_registry,
        config.min_age,
        node,
    ) = staticcall IProofConfigSource(msg.sender).proof_config_for(name)
    self._well_formed(end >= 64)
    kind: uint256 = self._word(base, end, 0)
    if kind == 96:
        # A signed answer; the resolver lets one through only in its proven-or-signed mode.
        self._well_formed(end <= _MAX_COPY_LENGTH - 64)
        return abi_encode(
            staticcall ANCHOR_VERIFIER.signed_result(msg.sender, self._calldata_bytes(base, end, size), extraData)
        )
    assert kind == convert(config.kind, uint256), "resolver: wrong proof kind"

    # Positions from here on are relative to the response (`base` in calldata).
    witness: uint256 = self._pointer(base, end, 32, 32)
    witness_length: uint256 = self._word(base, end, witness - 32)
    self._well_formed(witness_length <= end - witness)
    end = witness + witness_length

    state_root: bytes32 = empty(bytes32)
    if kind == convert(KIND_OP_STACK, uint256):
        state_root = self._op_state_root(config, base, end, witness)
    else:
        state_root = self._arbitrum_state_root(config, base, end, witness)

    exists: bool = False
    nonce: uint256 = 0
    balance: uint256 = 0
    storage_root: bytes32 = empty(bytes32)
    code_hash: bytes32 = empty(bytes32)
    exists, nonce, balance, storage_root, code_hash = mpt._verify_account(
        state_root, config.registry, self._proof(base, end, self._pointer(base, end, witness + 5 * 32, witness))
    )
    assert exists, "resolver: registry account missing"
    proofs: uint256 = self._pointer(base, end, witness + 6 * 32, witness)
    if len(data) >= 4 and convert(slice(data, 0, 4), bytes4) == _MULTICALL_SELECTOR:
        return abi_encode(self._multicall(node, data, storage_root, base, end, proofs))
    return abi_encode(self._answer(node, data, storage_root, base, end, proofs))


@internal
@pure
def _well_formed(ok: bool):
    """
    @dev Reverts with "resolver: malformed witness" unless `ok` (one copy of the revert).
    """
    assert ok, "resolver: malformed witness"


@internal
@pure
def _well_formed_multicall(ok: bool):
    """
    @dev Reverts with "resolver: malformed multicall" unless `ok`.
    """
    assert ok, "resolver: malformed multicall"


@internal
@view
def _calldata_word(position: uint256, size: uint256) -> uint256:
    """
    @dev The calldata word at `position`; "resolver: malformed witness" past the end.
    """
    self._well_formed(position <= size and size - position >= 32)
    return convert(slice(msg.data, position, 32), uint256)


@internal
@view
def _calldata_bytes(start: uint256, length: uint256, size: uint256) -> Bytes[_MAX_COPY_LENGTH]:
    """
    @dev `length` (at most `_MAX_COPY_LENGTH`, checked by the caller) calldata
         bytes from `start`, copied word by word (a slice of `msg.data` takes a constant
         length only); the words, padding included, must lie inside the calldata, else
         "resolver: malformed witness".
    """
    words: DynArray[bytes32, _MAX_COPY_LENGTH // 32 - 2] = []
    for i: uint256 in range(_MAX_COPY_LENGTH // 32 - 2):
        if 32 * i >= length:
            break
        words.append(convert(self._calldata_word(start + 32 * i, size), bytes32))
    return slice(abi_encode(words), 64, length)


@internal
@view
def _word(base: uint256, end: uint256, position: uint256) -> uint256:
    """
    @dev The 32-byte word at `position` of the response (calldata from `base`); reverts
         with "resolver: malformed witness" past `end`.
    """
    self._well_formed(position <= end and end - position >= 32)
    return convert(slice(msg.data, base + position, 32), uint256)


@internal
@view
def _pointer(base: uint256, end: uint256, position: uint256, origin: uint256) -> uint256:
    """
    @dev `origin` plus the ABI offset stored at `position`; an offset past `end` reverts
         with "resolver: malformed witness" (and so never overflows).
    """
    offset: uint256 = self._word(base, end, position)
    self._well_formed(offset <= end)
    return origin + offset


@internal
@view
def _node(start: uint256, length: uint256) -> Bytes[rlp.MAX_NODE_LENGTH]:
    """
    @dev `length` (at most `rlp.MAX_NODE_LENGTH`) calldata bytes from `start`, which the
         caller has bounds-checked. A constant-length slice of `msg.data` must end inside
         the calldata, so near its end the read starts earlier.
    """
    size: uint256 = len(msg.data)
    if start + rlp.MAX_NODE_LENGTH <= size:
        return slice(slice(msg.data, start, rlp.MAX_NODE_LENGTH), 0, length)
    self._well_formed(size >= rlp.MAX_NODE_LENGTH)
    skip: uint256 = start + rlp.MAX_NODE_LENGTH - size
    return slice(slice(msg.data, size - rlp.MAX_NODE_LENGTH, rlp.MAX_NODE_LENGTH), skip, length)


@internal
@view
def _proof(base: uint256, end: uint256, array: uint256) -> DynArray[Bytes[rlp.MAX_NODE_LENGTH], mpt.MAX_PROOF_NODES]:
    """
    @dev Copies the ABI `bytes[]` at `array` (a proof's nodes) out of calldata.
         Reverts with "resolver: malformed witness" or "resolver: proof too long".
    """
    count: uint256 = self._word(base, end, array)
    assert count <= mpt.MAX_PROOF_NODES, "resolver: proof too long"
    nodes: DynArray[Bytes[rlp.MAX_NODE_LENGTH], mpt.MAX_PROOF_NODES] = []
    for i: uint256 in range(mpt.MAX_PROOF_NODES):
        if i == count:
            break
        position: uint256 = self._pointer(base, end, array + 32 + 32 * i, array + 32)
        length: uint256 = self._word(base, end, position)
        assert length <= rlp.MAX_NODE_LENGTH, "resolver: proof node too long"
        self._well_formed(length <= end - position - 32)
        nodes.append(self._node(base + position + 32, length))
    return nodes


@internal
@view
def _op_state_root(config: ProofConfig, base: uint256, end: uint256, witness: uint256) -> bytes32:
    """
    @dev OP stack: the game index and output-root preimage from the witness, checked by
         the commitment verifier against the factory and the AnchorStateRegistry.
    @return bytes32 The L2 state root.
    """
    self._well_formed(witness + 32 + 128 <= end)
    preimage: bytes32[4] = empty(bytes32[4])
    for i: uint256 in range(4):
        preimage[i] = convert(self._word(base, end, witness + 32 + 32 * i), bytes32)
    return staticcall ANCHOR_VERIFIER.op_state_root(
        config.rollup, config.anchor_state_registry, config.min_age, self._word(base, end, witness), preimage
    )


@internal
@view
def _arbitrum_state_root(config: ProofConfig, base: uint256, end: uint256, witness: uint256) -> bytes32:
    """
    @dev Arbitrum: the assertion, its preimage and the L2 block header from the witness,
         checked by the commitment verifier against the rollup.
    @return bytes32 The L2 state root (the header's fourth field).
    """
    state_position: uint256 = self._pointer(base, end, witness + 3 * 32, witness)
    assert self._word(base, end, state_position) == 192, "resolver: malformed assertion state"
    self._well_formed(state_position + 32 + 192 <= end)
    header_position: uint256 = self._pointer(base, end, witness + 4 * 32, witness)
    header_length: uint256 = self._word(base, end, header_position)
    assert header_length <= _MAX_HEADER_LENGTH and header_length >= 123, "resolver: malformed block header"
    self._well_formed(header_length <= end - header_position - 32)
    header_start: uint256 = base + header_position + 32
    header: Bytes[_MAX_HEADER_LENGTH] = b""
    if header_start + _MAX_HEADER_LENGTH <= len(msg.data):
        header = slice(slice(msg.data, header_start, _MAX_HEADER_LENGTH), 0, header_length)
    else:
        self._well_formed(len(msg.data) >= _MAX_HEADER_LENGTH)
        header = slice(
            slice(msg.data, len(msg.data) - _MAX_HEADER_LENGTH, _MAX_HEADER_LENGTH),
            header_start + _MAX_HEADER_LENGTH - len(msg.data),
            header_length,
        )
    return staticcall ANCHOR_VERIFIER.arbitrum_state_root(
        config.rollup,
        convert(self._word(base, end, witness), bytes32),
        convert(self._word(base, end, witness + 32), bytes32),
        convert(self._word(base, end, witness + 64), bytes32),
        slice(msg.data, base + state_position + 32, 192),
        header,
    )


@internal
@pure
def _map_slot(slot: bytes32, key: bytes32) -> bytes32:
    """
    @dev Vyper's HashMap slot: `keccak256(slot ‖ key)` (a byte-string key is hashed first).
    """
    return keccak256(concat(slot, key))


@internal
@view
def _answer(
    node: bytes32, data: Bytes[MAX_DATA_LENGTH], storage_root: bytes32, base: uint256, end: uint256, proofs: uint256
) -> Bytes[MAX_RESULT_LENGTH]:
    """
    @dev Computes the slots the request reads (ProfileRegistry's layout), verifies the
         storage proof of each in turn against `storage_root`, and encodes the answer as
         the registry's own view would. The slots: text and contenthash, the byte
         string's length slot then its data slots; addr, the coin's packed word, then the
         default coin's (ENSIP-19) when it is zero, then a long address's length and data.
    """
    assert len(data) >= 36, "resolver: unsupported call"
    selector: bytes4 = convert(slice(data, 0, 4), bytes4)
    assert extract32(data, 4) == node, "resolver: node does not match name"
    coin: uint256 = _COIN_TYPE_ETH
    slot: uint256 = 0
    # phase 1: a packed coin word; 2: a byte string's length; 3: its data words.
    phase: uint256 = 2
    if selector == _TEXT_SELECTOR:
        key: String[256] = (abi_decode(slice(data, 4, len(data) - 4), (bytes32, String[256])))[1]
        slot = convert(
            self._map_slot(self._map_slot(convert(_TEXTS_SLOT, bytes32), node), keccak256(key)), uint256
        )
    elif selector == _CONTENTHASH_SELECTOR:
        slot = convert(self._map_slot(convert(_CONTENTHASHES_SLOT, bytes32), node), uint256)
    elif selector == _ADDR_SELECTOR or selector == _ADDR_COIN_SELECTOR:
        if selector == _ADDR_COIN_SELECTOR:
            assert len(data) >= 68, "resolver: unsupported call"
            coin = extract32(data, 36, output_type=uint256)
        phase = 1
        slot = self._coin_slot(node, coin, _ADDRESSES_SLOT)
    else:
        raise "resolver: unsupported call"

    count: uint256 = self._word(base, end, proofs)
    length: uint256 = 0
    words: DynArray[bytes32, MAX_PROVEN_SLOTS] = []
    word_count: uint256 = 0
    for i: uint256 in range(MAX_PROVEN_SLOTS):
        assert i < count, "resolver: missing storage proof"
        value: uint256 = mpt._verify_storage(
            storage_root, slot, self._proof(base, end, self._pointer(base, end, proofs + 32 + 32 * i, proofs + 32))
        )
        if phase == 1:
            if value == 0 and coin != _COIN_TYPE_DEFAULT and self._evm_chain(coin) != 0:
                # ENSIP-19: an EVM coin without its own record falls back to the default.
                coin = _COIN_TYPE_DEFAULT
                slot = self._coin_slot(node, coin, _ADDRESSES_SLOT)
                continue
            if selector == _ADDR_SELECTOR:
                assert i + 1 == count, "resolver: extra storage proofs"
                return abi_encode(convert(value >> 96, address))
            if value & 255 != _LONG_ADDRESS:
                assert i + 1 == count, "resolver: extra storage proofs"
                return abi_encode(slice(convert(value, bytes32), 0, value & 255))
            phase = 2
            slot = self._coin_slot(node, coin, _LONG_ADDRESSES_SLOT)
        elif phase == 2:
            length = value
            assert length <= 4096, "resolver: invalid stored length"
            word_count = (length + 31) // 32
            if word_count == 0:
                assert i + 1 == count, "resolver: extra storage proofs"
                return abi_encode(b"")
            phase = 3
            slot += 1
        else:
            words.append(convert(value, bytes32))
            if len(words) == word_count:
                assert i + 1 == count, "resolver: extra storage proofs"
                tail: uint256 = length % 32
                if tail != 0:
                    # Zero the last word's bytes past the string (storage may hold stale ones).
                    mask: uint256 = max_value(uint256) << (8 * (32 - tail))
                    words[word_count - 1] = convert(convert(words[word_count - 1], uint256) & mask, bytes32)
                encoded: Bytes[32 * (MAX_PROVEN_SLOTS + 2)] = abi_encode(words)
                return concat(
                    convert(32, bytes32), convert(length, bytes32), slice(encoded, 64, 32 * word_count)
                )
            slot += 1
    raise "resolver: too many storage slots"


@internal
@view
def _multicall(
    node: bytes32, data: Bytes[MAX_DATA_LENGTH], storage_root: bytes32, base: uint256, end: uint256, groups: uint256
) -> Bytes[MAX_RESULT_LENGTH]:
    """
    @dev `multicall(bytes[] calls)`: each inner call is verified exactly as a single call
         (`_answer`, its own slots computed here from it) against its own group of storage
         proofs (`groups`: a `bytes[][][]`, one `bytes[][]` per call, in order), all under
         the one storage root; the answer is `abi.encode(bytes[])` of the inner answers, as
         ENS's `multicall` returns it. The calls' ABI encoding is bounds-checked; refused
         too: a multicall inside one, more than `MAX_MULTICALL_CALLS` calls, fewer or more
         proof groups than calls, and an answer over `MAX_RESULT_LENGTH` (each with its own
         reason, docs/authorisation.md).
    """
    size: uint256 = len(data)
    self._well_formed_multicall(size >= 36)
    array: uint256 = extract32(data, 4, output_type=uint256)
    self._well_formed_multicall(array <= size - 36)
    array += 4 + 32
    count: uint256 = extract32(data, array - 32, output_type=uint256)
    assert count <= MAX_MULTICALL_CALLS, "resolver: multicall too long"
    self._well_formed_multicall(count <= (size - array) // 32)
    group_count: uint256 = self._word(base, end, groups)
    assert group_count >= count, "resolver: missing proof group"
    assert group_count == count, "resolver: extra proof groups"
    # The answer's words: the array's offset and length, one offset per call, then each
    # call's answer (an ABI encoding, whole words) after its length word.
    words: DynArray[bytes32, _MAX_ANSWER_WORDS] = [convert(32, bytes32), convert(count, bytes32)]
    for i: uint256 in range(MAX_MULTICALL_CALLS):
        if i == count:
            break
        words.append(empty(bytes32))
    for i: uint256 in range(MAX_MULTICALL_CALLS):
        if i == count:
            break
        offset: uint256 = extract32(data, array + 32 * i, output_type=uint256)
        self._well_formed_multicall(offset <= size and offset + array <= size - 32)
        start: uint256 = array + offset + 32
        length: uint256 = extract32(data, start - 32, output_type=uint256)
        self._well_formed_multicall(length <= size - start)
        inner: Bytes[MAX_DATA_LENGTH] = slice(data, start, length)
        assert length < 4 or convert(slice(inner, 0, 4), bytes4) != _MULTICALL_SELECTOR, "resolver: nested multicall"
        answer: Bytes[MAX_RESULT_LENGTH] = self._answer(
            node, inner, storage_root, base, end, self._pointer(base, end, groups + 32 + 32 * i, groups + 32)
        )
        answer_words: uint256 = len(answer) // 32
        assert len(words) + 1 + answer_words <= _MAX_ANSWER_WORDS, "resolver: answer too long"
        words[2 + i] = convert(32 * (len(words) - 2), bytes32)
        words.append(convert(len(answer), bytes32))
        for j: uint256 in range(MAX_RESULT_LENGTH // 32):
            if j == answer_words:
                break
            words.append(extract32(answer, 32 * j))
    return slice(abi_encode(words), 64, 32 * len(words))


@internal
@pure
def _coin_slot(node: bytes32, coin: uint256, map_slot: uint256) -> uint256:
    """
    @dev The slot of `map[node][coin]` for ProfileRegistry's coin maps.
    """
    return convert(
        self._map_slot(self._map_slot(convert(map_slot, bytes32), node), convert(coin, bytes32)), uint256
    )


@internal
@pure
def _evm_chain(coin_type: uint256) -> uint256:
    """
    @dev ENSIP-19 `chainFromCoinType`, as ProfileRegistry's `ens_names._evm_chain`.
    """
    if coin_type == _COIN_TYPE_ETH:
        return 1
    chain_id: uint256 = coin_type ^ _COIN_TYPE_DEFAULT
    if chain_id < _COIN_TYPE_DEFAULT:
        return chain_id
    return 0
