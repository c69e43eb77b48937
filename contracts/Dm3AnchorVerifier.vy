# pragma version 0.4.3
"""
@title dm3 anchor verifier: what a proof answer rests on (a rollup's L1 commitment, or a signer)
@custom:contract-name Dm3AnchorVerifier
@license MIT
@notice Answers one question for `Dm3ProofVerifier`: given a rollup's contracts on L1 and
        what a proof answer claims about them, which L2 state root may the answer's
        account and storage proofs be checked against? It holds no state and trusts
        nothing but the L1 contracts it is pointed at:
        - OP stack: the dispute game at `game_index` of the DisputeGameFactory must be
          respected by the AnchorStateRegistry, not blacklisted, not retired, proper, and
          won by the defender or unchallenged for `min_age` seconds; its root claim must
          hash the given output-root preimage, whose second word is the state root;
        - Arbitrum: the assertion must be confirmed by the rollup and hash the given
          parent, state and inbox accumulator; the state's machine status FINISHED; the
          block header must hash to the state's block hash, and its fourth field is the
          state root;
        - and, for a resolver's proven-or-signed mode, a signed answer: the signed path's
          checks (`Dm3Resolver.resolveWithProof`) against that resolver's signers.
@dev A contract of its own because `Dm3ProofVerifier` with these checks inside exceeds the
     24,576-byte code limit once it also verifies multicalls (docs/proof-mode.md). The
     inputs are small (a 1 KiB header, an 8 KiB signed answer at most), so they are passed
     as arguments; the large part of an answer, the proofs, stays in the verifier's calldata. Revert reasons
     keep the verifier's "resolver: " prefix: clients see them through the resolver.
"""


# @dev Recovery of a gateway's signature, for the signed fallback (stateless).
from snekmate.utils import ecdsa


################################################################
#                          INTERFACES                          #
################################################################


# @dev The resolver whose signers a signed answer must come from.
interface ISignerSource:
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


################################################################
#                          CONSTANTS                           #
################################################################


# @notice Maximum lengths of a signed answer's `result` (Dm3Resolver's `MAX_RESULT_LENGTH`), and
# of a signed answer or a request as Dm3ProofVerifier passes them (its `_MAX_COPY_LENGTH`).
MAX_RESULT_LENGTH: constant(uint256) = 8192
MAX_COPY_LENGTH: constant(uint256) = 5 * 32 + MAX_RESULT_LENGTH + 96 + 64


# @notice Maximum length of an L2 block header (RLP); a header is well under 1 KiB.
MAX_HEADER_LENGTH: constant(uint256) = 1024


# @dev Fault dispute game outcomes.
_CHALLENGER_WINS: constant(uint8) = 1
_DEFENDER_WINS: constant(uint8) = 2


# @dev BOLD: assertion status Confirmed; machine status FINISHED.
_ASSERTION_CONFIRMED: constant(uint8) = 2
_MACHINE_FINISHED: constant(uint256) = 1


################################################################
#                            VIEWS                             #
################################################################


@external
@view
def op_state_root(
    factory: address, anchor_state_registry: address, min_age: uint64, game_index: uint256, preimage: bytes32[4]
) -> bytes32:
    """
    @notice The L2 state root an OP-stack dispute game vouches for, under the policy above.
    @dev Reverts with the reason of the first rule broken (docs/authorisation.md lists them).
    @param factory The DisputeGameFactory.
    @param anchor_state_registry The AnchorStateRegistry.
    @param min_age Seconds an unresolved game must have stood unchallenged.
    @param game_index The game's index in the factory.
    @param preimage The output root's preimage: version, state root, message-passer storage
           root, block hash.
    @return bytes32 The L2 state root (`preimage[1]`).
    """
    assert game_index < staticcall IDisputeGameFactory(factory).gameCount(), "resolver: no such game"
    game: address = (staticcall IDisputeGameFactory(factory).gameAtIndex(game_index))[2]
    registry: IAnchorStateRegistry = IAnchorStateRegistry(anchor_state_registry)
    assert staticcall registry.isGameRespected(game), "resolver: game not respected"
    assert not staticcall registry.isGameBlacklisted(game), "resolver: game blacklisted"
    assert not staticcall registry.isGameRetired(game), "resolver: game retired"
    assert staticcall registry.isGameProper(game), "resolver: game not proper"
    status: uint8 = staticcall IDisputeGame(game).status()
    assert status != _CHALLENGER_WINS, "resolver: challenger won"
    if status != _DEFENDER_WINS:
        created: uint256 = convert(staticcall IDisputeGame(game).createdAt(), uint256)
        assert block.timestamp >= created + convert(min_age, uint256), "resolver: game too young"
    root: bytes32 = keccak256(concat(preimage[0], preimage[1], preimage[2], preimage[3]))
    assert root == staticcall IDisputeGame(game).rootClaim(), "resolver: wrong output root preimage"
    return preimage[1]


@external
@view
def arbitrum_state_root(
    rollup: address,
    assertion: bytes32,
    parent_assertion: bytes32,
    inbox_acc: bytes32,
    state: Bytes[192],
    header: Bytes[MAX_HEADER_LENGTH],
) -> bytes32:
    """
    @notice The L2 state root a confirmed Arbitrum (BOLD) assertion vouches for.
    @dev The assertion hash is `keccak256(parent_assertion ‖ keccak256(state) ‖
         inbox_acc)`; `state` is `abi.encode(AssertionState)` (192 bytes), whose first word
         is the L2 block hash (`globalState.bytes32Vals[0]`) and fifth the machine status.
         Reverts with the reason of the first rule broken (docs/authorisation.md lists them).
    @param rollup The rollup contract.
    @param assertion The assertion's hash.
    @param parent_assertion Its parent's hash.
    @param inbox_acc The inbox accumulator it was created with.
    @param state `abi.encode(AssertionState)` of its after-state.
    @param header The RLP header of the L2 block whose hash the state carries.
    @return bytes32 The L2 state root (the header's fourth field).
    """
    node: AssertionNode = staticcall IArbitrumRollup(rollup).getAssertion(assertion)
    assert node.status == _ASSERTION_CONFIRMED, "resolver: assertion not confirmed"
    assert len(state) == 192, "resolver: malformed assertion state"
    assert keccak256(concat(parent_assertion, keccak256(state), inbox_acc)) == assertion, "resolver: wrong assertion preimage"
    assert extract32(state, 128, output_type=uint256) == _MACHINE_FINISHED, "resolver: assertion not finished"
    assert len(header) >= 123, "resolver: malformed block header"
    assert keccak256(header) == extract32(state, 0), "resolver: wrong block header"
    # A header is a long list (0xf9 + 2 length bytes) starting parentHash (0xa0 + 32),
    # ommersHash (0xa0 + 32), beneficiary (0x94 + 20), stateRoot (0xa0 + 32).
    assert convert(slice(header, 0, 1), uint256) == 249, "resolver: malformed block header"
    assert convert(slice(header, 1, 2), uint256) + 3 == len(header), "resolver: malformed block header"
    assert slice(header, 3, 1) == b"\xa0" and slice(header, 36, 1) == b"\xa0", "resolver: malformed block header"
    assert slice(header, 69, 1) == b"\x94" and slice(header, 90, 1) == b"\xa0", "resolver: malformed block header"
    return extract32(header, 91)


@external
@view
def signed_result(
    resolver: address, response: Bytes[MAX_COPY_LENGTH], request: Bytes[MAX_COPY_LENGTH]
) -> Bytes[MAX_RESULT_LENGTH]:
    """
    @notice The result of a signed answer, checked as `Dm3Resolver.resolveWithProof` checks
            it, for `resolver` (the proof verifier's caller): the digest names `resolver`, and
            the signer must be one of its signers.
    @dev Reverts with "resolver: signature expired", "resolver: invalid signature length",
         "resolver: invalid signer", or snekmate's "ecdsa: invalid signature `s` value" /
         "ecdsa: invalid signature".
    @param resolver The resolver the answer is for.
    @param response `abi.encode(bytes result, uint64 expires, bytes sig)`.
    @param request The `resolve(name, data)` calldata the answer is for.
    @return The signed `result`.
    """
    result: Bytes[MAX_RESULT_LENGTH] = b""
    expires: uint64 = 0
    sig: Bytes[65] = b""
    result, expires, sig = abi_decode(response, (Bytes[MAX_RESULT_LENGTH], uint64, Bytes[65]))
    assert convert(expires, uint256) >= block.timestamp, "resolver: signature expired"
    assert len(sig) == 64 or len(sig) == 65, "resolver: invalid signature length"
    digest: bytes32 = keccak256(
        concat(x"1900", convert(resolver, bytes20), convert(expires, bytes8), keccak256(request), keccak256(result))
    )
    r: uint256 = extract32(sig, 0, output_type=uint256)
    s_or_vs: uint256 = extract32(sig, 32, output_type=uint256)
    signer: address = empty(address)
    if len(sig) == 65:
        signer = ecdsa._try_recover_vrs(digest, convert(slice(sig, 64, 1), uint256), r, s_or_vs)
    else:
        signer = ecdsa._try_recover_r_vs(digest, r, s_or_vs)
    assert staticcall ISignerSource(resolver).signers(signer), "resolver: invalid signer"
    return result
