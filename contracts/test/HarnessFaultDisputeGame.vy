# pragma version 0.4.3
"""
@title Devnet stand-in for an OP-stack fault dispute game
@custom:contract-name HarnessFaultDisputeGame
@license MIT
@notice The views of Optimism's `FaultDisputeGame` (packages/contracts-bedrock/src/dispute) that the
        resolver and the AnchorStateRegistry call, with upstream's names and ABI types: `rootClaim`,
        `l2BlockNumber` / `l2SequenceNumber`, `status` (0 IN_PROGRESS, 1 CHALLENGER_WINS, 2 DEFENDER_WINS),
        `createdAt`, `resolvedAt`, `gameType`, `gameData`, `extraData`, `anchorStateRegistry`,
        `wasRespectedGameTypeWhenCreated`. There is no bisection game: the harness's referee (who deployed
        the factory) decides the outcome with `harnessResolve`. Test and devnet only, never deployed live.
"""


IN_PROGRESS: constant(uint8) = 0
CHALLENGER_WINS: constant(uint8) = 1
DEFENDER_WINS: constant(uint8) = 2

gameType: public(uint32)
rootClaim: public(bytes32)
l2BlockNumber: public(uint256)
status: public(uint8)
createdAt: public(uint64)
resolvedAt: public(uint64)
gameCreator: public(address)
anchorStateRegistry: public(address)
wasRespectedGameTypeWhenCreated: public(bool)
referee: public(address)


@deploy
def __init__(
    game_type: uint32,
    root_claim: bytes32,
    l2_block_number: uint256,
    creator: address,
    registry: address,
    respected: bool,
    referee: address,
):
    self.gameType = game_type
    self.rootClaim = root_claim
    self.l2BlockNumber = l2_block_number
    self.createdAt = convert(block.timestamp, uint64)
    self.gameCreator = creator
    self.anchorStateRegistry = registry
    self.wasRespectedGameTypeWhenCreated = respected
    self.referee = referee


@external
@view
def l2SequenceNumber() -> uint256:
    """
    @notice Upstream's newer name of `l2BlockNumber`.
    """
    return self.l2BlockNumber


@external
@view
def extraData() -> Bytes[32]:
    """
    @notice The game's extra data: the L2 block number, 32 bytes big-endian (as upstream).
    """
    return concat(convert(self.l2BlockNumber, bytes32), b"")


@external
@view
def gameData() -> (uint32, bytes32, Bytes[32]):
    return self.gameType, self.rootClaim, concat(convert(self.l2BlockNumber, bytes32), b"")


@external
def harnessResolve(status: uint8):
    """
    @notice Ends the game with `status` (1 challenger wins, 2 defender wins). Referee only; once.
    """
    assert msg.sender == self.referee, "game: not the referee"
    assert self.status == IN_PROGRESS, "game: already resolved"
    assert status == CHALLENGER_WINS or status == DEFENDER_WINS, "game: invalid status"
    self.status = status
    self.resolvedAt = convert(block.timestamp, uint64)
