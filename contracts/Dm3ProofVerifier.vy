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
        - kind 1, OP stack: the dispute game at `gameIndex` of the DisputeGameFactory must
          be respected by the AnchorStateRegistry, not blacklisted, not retired, proper, and
          won by the defender or unchallenged for the configured age; its root claim must
          hash the given output-root preimage, whose state root anchors the proofs;
        - kind 2, Arbitrum: the assertion must be confirmed by the rollup and hash the given
          state; the block header must hash to the state's block hash, and its state root
          anchors the proofs;
        - then the registry's account proof, and the storage proofs of exactly the slots
          the request reads, computed here from the name and the call (ProfileRegistry's
          storage layout), so a gateway cannot prove another record.
        A signed answer (first word 0x60), which the resolver forwards only in its
        proven-or-signed mode, gets the signed path's checks against the caller's signers.
@dev A separate contract because the resolver with the verification inside exceeds the
     24,576-byte code limit. Nodes are copied from calldata one proof at a time.
"""


# @dev Merkle-Patricia proofs of the L2 registry's account and storage (stateless).
from modules import rlp
from modules import mpt


# @dev Recovery of a gateway's signature, for the signed fallback (stateless).
from snekmate.utils import ecdsa


################################################################
#                          INTERFACES                          #
################################################################


# @dev The resolver: the proof settings of a name (see `Dm3Resolver.proof_config_for`).
interface IProofConfigSource:
    def proof_config_for(name: Bytes[MAX_NAME_LENGTH]) -> (uint8, address, address, address, uint64, bytes32): view
    def signers(signer: address) -> bool: view


# @dev Optimism's `DisputeGameFactory` (contracts-bedrock/src/dispute): GameType is uint32,
# Timestamp uint64.
interface IDisputeGameFactory:
    def gameCount() -> uint256: view
    def gameAtIndex(_index: uint256) -> (uint32, uint64, address): view


# @dev Optimism's `AnchorStateRegistry`: the judge of a game's standing.
interface IAnchorStateRegistry:
    def isGameRespected(_game: address) -> bool: view
    def isGameBlacklisted(_game: address) -> bool: view
    def isGameRetired(_game: address) -> bool: view
    def isGameProper(_game: address) -> bool: view


# @dev Optimism's fault dispute game: the claim (an output root) and its status
# (0 IN_PROGRESS, 1 CHALLENGER_WINS, 2 DEFENDER_WINS).
interface IDisputeGame:
    def rootClaim() -> bytes32: view
    def status() -> uint8: view
    def createdAt() -> uint64: view


# @dev nitro-contracts' `AssertionNode` (src/rollup/Assertion.sol); status 2 is Confirmed.
struct AssertionNode:
    firstChildBlock: uint64
    secondChildBlock: uint64
    createdAtBlock: uint64
    isFirstChild: bool
    status: uint8
    configHash: bytes32


# @dev Arbitrum's BOLD rollup contract (nitro-contracts `RollupCore`).
interface IArbitrumRollup:
    def getAssertion(assertionHash: bytes32) -> AssertionNode: view


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


# @dev Maximum length of a proof answer (`abi.encode(uint8 kind, bytes witness)`): a 500-byte
# text record needs 17 storage proofs (~20 KiB on a small trie, ~50 KiB on a large one). Vyper
# copies the argument to memory, whose cost grows with this cap, so it is not larger.
MAX_PROOF_RESPONSE_LENGTH: constant(uint256) = 131072


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


# @dev Fault dispute game outcomes.
_CHALLENGER_WINS: constant(uint8) = 1
_DEFENDER_WINS: constant(uint8) = 2


# @dev Maximum length of an L2 block header (RLP); a header is well under 1 KiB.
_MAX_HEADER_LENGTH: constant(uint256) = 1024


# @dev BOLD: assertion status Confirmed; machine status FINISHED.
_ASSERTION_CONFIRMED: constant(uint8) = 2
_MACHINE_FINISHED: constant(uint256) = 1


################################################################
#                            VIEWS                             #
################################################################


@external
@view
def resolveWithStateProof(
    response: Bytes[MAX_PROOF_RESPONSE_LENGTH], extraData: Bytes[_MAX_REQUEST_LENGTH]
) -> Bytes[MAX_RESULT_LENGTH]:
    """
    @notice Verifies a proof answer for `Dm3Resolver.resolveWithStateProof` (the caller),
            whose settings for the request's name it reads back from the caller.
    @dev `response` is `abi.encode(uint8 kind, bytes witness)` (docs/proof-mode.md):
         kind 1 (OP stack) `witness = abi.encode(uint256 gameIndex, bytes32[4]
         outputRootPreimage, bytes[] accountProof, bytes[][] storageProofs)`; kind 2
         (Arbitrum) `witness = abi.encode(bytes32 assertionHash, bytes32
         parentAssertionHash, bytes32 inboxAcc, bytes encodedAssertionState, bytes
         blockHeaderRlp, bytes[] accountProof, bytes[][] storageProofs)`. The storage
         proofs are those of the slots `_answer` computes from the request, in order (a
         byte string's length slot, then its data slots); the response is read in place
         from calldata, node by node.
    @param response The gateway's answer.
    @param extraData The request: the `resolve(name, data)` calldata from `OffchainLookup`.
    @return The ABI-encoded answer of the resolver call in `data`.
    """
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
    assert len(response) >= 64, "resolver: malformed witness"
    kind: uint256 = extract32(response, 0, output_type=uint256)
    if kind == 96:
        # A signed answer; the resolver lets one through only in its proven-or-signed mode.
        return self._signed_result(response, extraData)
    assert kind == convert(config.kind, uint256), "resolver: wrong proof kind"

    # Positions relative to `response`; `base` is its first byte in calldata.
    base: uint256 = 4 + convert(slice(msg.data, 4, 32), uint256) + 32
    end: uint256 = len(response)
    witness_length: uint256 = self._word(base, end, extract32(response, 32, output_type=uint256))
    witness: uint256 = extract32(response, 32, output_type=uint256) + 32
    assert witness_length <= end - witness, "resolver: malformed witness"
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
    return self._answer(node, data, storage_root, base, end, self._pointer(base, end, witness + 6 * 32, witness))


@internal
@view
def _signed_result(
    response: Bytes[MAX_PROOF_RESPONSE_LENGTH], extraData: Bytes[_MAX_REQUEST_LENGTH]
) -> Bytes[MAX_RESULT_LENGTH]:
    """
    @dev The signed path's checks (Dm3Resolver.resolveWithProof) for the caller: the
         digest names the caller as the resolver, and the signer must be one of its signers.
    """
    result: Bytes[MAX_RESULT_LENGTH] = b""
    expires: uint64 = 0
    sig: Bytes[65] = b""
    result, expires, sig = abi_decode(response, (Bytes[MAX_RESULT_LENGTH], uint64, Bytes[65]))
    assert convert(expires, uint256) >= block.timestamp, "resolver: signature expired"
    assert len(sig) == 64 or len(sig) == 65, "resolver: invalid signature length"
    digest: bytes32 = keccak256(
        concat(x"1900", convert(msg.sender, bytes20), convert(expires, bytes8), keccak256(extraData), keccak256(result))
    )
    r: uint256 = extract32(sig, 0, output_type=uint256)
    s_or_vs: uint256 = extract32(sig, 32, output_type=uint256)
    signer: address = empty(address)
    if len(sig) == 65:
        signer = ecdsa._try_recover_vrs(digest, convert(slice(sig, 64, 1), uint256), r, s_or_vs)
    else:
        signer = ecdsa._try_recover_r_vs(digest, r, s_or_vs)
    assert staticcall IProofConfigSource(msg.sender).signers(signer), "resolver: invalid signer"
    return result


@internal
@view
def _word(base: uint256, end: uint256, position: uint256) -> uint256:
    """
    @dev The 32-byte word at `position` of the response (calldata from `base`); reverts
         with "resolver: malformed witness" past `end`.
    """
    assert position <= end and end - position >= 32, "resolver: malformed witness"
    return convert(slice(msg.data, base + position, 32), uint256)


@internal
@view
def _pointer(base: uint256, end: uint256, position: uint256, origin: uint256) -> uint256:
    """
    @dev `origin` plus the ABI offset stored at `position`; an offset past `end` reverts
         with "resolver: malformed witness" (and so never overflows).
    """
    offset: uint256 = self._word(base, end, position)
    assert offset <= end, "resolver: malformed witness"
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
    assert size >= rlp.MAX_NODE_LENGTH, "resolver: malformed witness"
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
        assert length <= end - position - 32, "resolver: malformed witness"
        nodes.append(self._node(base + position + 32, length))
    return nodes


@internal
@view
def _op_state_root(config: ProofConfig, base: uint256, end: uint256, witness: uint256) -> bytes32:
    """
    @dev OP stack: the dispute game at `gameIndex` must be respected, not blacklisted,
         not retired, proper, and won by the defender or unchallenged for `min_age`
         seconds; its root claim must be the hash of the given output-root preimage
         (version, state root, message-passer storage root, block hash).
    @return bytes32 The L2 state root.
    """
    game_index: uint256 = self._word(base, end, witness)
    factory: IDisputeGameFactory = IDisputeGameFactory(config.rollup)
    assert game_index < staticcall factory.gameCount(), "resolver: no such game"
    game: address = (staticcall factory.gameAtIndex(game_index))[2]
    registry: IAnchorStateRegistry = IAnchorStateRegistry(config.anchor_state_registry)
    assert staticcall registry.isGameRespected(game), "resolver: game not respected"
    assert not staticcall registry.isGameBlacklisted(game), "resolver: game blacklisted"
    assert not staticcall registry.isGameRetired(game), "resolver: game retired"
    assert staticcall registry.isGameProper(game), "resolver: game not proper"
    status: uint8 = staticcall IDisputeGame(game).status()
    assert status != _CHALLENGER_WINS, "resolver: challenger won"
    if status != _DEFENDER_WINS:
        created: uint256 = convert(staticcall IDisputeGame(game).createdAt(), uint256)
        assert block.timestamp >= created + convert(config.min_age, uint256), "resolver: game too young"
    preimage: Bytes[128] = slice(msg.data, base + witness + 32, 128)
    assert witness + 32 + 128 <= end, "resolver: malformed witness"
    assert keccak256(preimage) == staticcall IDisputeGame(game).rootClaim(), "resolver: wrong output root preimage"
    return extract32(preimage, 32)


@internal
@view
def _arbitrum_state_root(config: ProofConfig, base: uint256, end: uint256, witness: uint256) -> bytes32:
    """
    @dev Arbitrum: the assertion must be confirmed by the rollup, its hash must be
         `keccak256(parentAssertionHash ‖ keccak256(encodedAssertionState) ‖ inboxAcc)`,
         its machine status FINISHED, and the block header must hash to the state's
         `globalState.bytes32Vals[0]` (the L2 block hash).
    @return bytes32 The L2 state root (the header's fourth field).
    """
    assertion: bytes32 = convert(self._word(base, end, witness), bytes32)
    node: AssertionNode = staticcall IArbitrumRollup(config.rollup).getAssertion(assertion)
    assert node.status == _ASSERTION_CONFIRMED, "resolver: assertion not confirmed"
    state_position: uint256 = self._pointer(base, end, witness + 3 * 32, witness)
    assert self._word(base, end, state_position) == 192, "resolver: malformed assertion state"
    assert state_position + 32 + 192 <= end, "resolver: malformed witness"
    state: Bytes[192] = slice(msg.data, base + state_position + 32, 192)
    preimage: Bytes[96] = concat(
        convert(self._word(base, end, witness + 32), bytes32),
        keccak256(state),
        convert(self._word(base, end, witness + 64), bytes32),
    )
    assert keccak256(preimage) == assertion, "resolver: wrong assertion preimage"
    assert extract32(state, 128, output_type=uint256) == _MACHINE_FINISHED, "resolver: assertion not finished"
    header_position: uint256 = self._pointer(base, end, witness + 4 * 32, witness)
    header_length: uint256 = self._word(base, end, header_position)
    assert header_length <= _MAX_HEADER_LENGTH and header_length >= 123, "resolver: malformed block header"
    assert header_length <= end - header_position - 32, "resolver: malformed witness"
    header_start: uint256 = base + header_position + 32
    header: Bytes[_MAX_HEADER_LENGTH] = b""
    if header_start + _MAX_HEADER_LENGTH <= len(msg.data):
        header = slice(slice(msg.data, header_start, _MAX_HEADER_LENGTH), 0, header_length)
    else:
        header = slice(
            slice(msg.data, len(msg.data) - _MAX_HEADER_LENGTH, _MAX_HEADER_LENGTH),
            header_start + _MAX_HEADER_LENGTH - len(msg.data),
            header_length,
        )
    assert keccak256(header) == extract32(state, 0), "resolver: wrong block header"
    # A header is a long list (0xf9 + 2 length bytes) starting parentHash (0xa0 + 32),
    # ommersHash (0xa0 + 32), beneficiary (0x94 + 20), stateRoot (0xa0 + 32).
    assert convert(slice(header, 0, 1), uint256) == 249, "resolver: malformed block header"
    assert convert(slice(header, 1, 2), uint256) + 3 == header_length, "resolver: malformed block header"
    assert slice(header, 3, 1) == b"\xa0" and slice(header, 36, 1) == b"\xa0", "resolver: malformed block header"
    assert slice(header, 69, 1) == b"\x94" and slice(header, 90, 1) == b"\xa0", "resolver: malformed block header"
    return extract32(header, 91)


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
