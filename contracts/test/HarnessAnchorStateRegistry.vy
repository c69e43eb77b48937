# pragma version 0.4.3
"""
@title Devnet stand-in for Optimism's AnchorStateRegistry
@custom:contract-name HarnessAnchorStateRegistry
@license MIT
@notice The views of `AnchorStateRegistry` (packages/contracts-bedrock/src/dispute) a game's claim is
        judged by, with upstream's names, types and meaning: `respectedGameType`, `isGameRegistered`
        (made by the factory, reporting this registry), `isGameRespected` (the game's
        `wasRespectedGameTypeWhenCreated`), `isGameBlacklisted`, `isGameRetired` (created at or before
        `retirementTimestamp`), `isGameResolved`, `isGameProper` (registered, not blacklisted, not retired,
        not paused), `isGameFinalized` (resolved more than `disputeGameFinalityDelaySeconds` ago) and
        `isGameClaimValid`. The guardian (the deployer) blacklists, retires, pauses and sets the respected
        type as upstream's guardian does. Test and devnet only, never deployed live.
"""


interface IGame:
    def gameData() -> (uint32, bytes32, Bytes[32]): view
    def anchorStateRegistry() -> address: view
    def wasRespectedGameTypeWhenCreated() -> bool: view
    def createdAt() -> uint64: view
    def resolvedAt() -> uint64: view
    def status() -> uint8: view


interface IFactory:
    def games(_gameType: uint32, _rootClaim: bytes32, _extraData: Bytes[32]) -> (address, uint64): view


CHALLENGER_WINS: constant(uint8) = 1
DEFENDER_WINS: constant(uint8) = 2

disputeGameFactory: public(immutable(address))
disputeGameFinalityDelaySeconds: public(immutable(uint256))
guardian: public(immutable(address))
respectedGameType: public(uint32)
retirementTimestamp: public(uint64)
paused: public(bool)
disputeGameBlacklist: public(HashMap[address, bool])


@deploy
def __init__(factory: address, respected_game_type: uint32, finality_delay: uint256):
    disputeGameFactory = factory
    disputeGameFinalityDelaySeconds = finality_delay
    guardian = msg.sender
    self.respectedGameType = respected_game_type


@external
def setRespectedGameType(_gameType: uint32):
    assert msg.sender == guardian, "registry: not the guardian"
    self.respectedGameType = _gameType


@external
def updateRetirementTimestamp():
    assert msg.sender == guardian, "registry: not the guardian"
    self.retirementTimestamp = convert(block.timestamp, uint64)


@external
def blacklistDisputeGame(_disputeGame: address):
    assert msg.sender == guardian, "registry: not the guardian"
    self.disputeGameBlacklist[_disputeGame] = True


@external
def harnessSetPaused(_paused: bool):
    """
    @notice Upstream reads the pause from the SuperchainConfig; here the guardian sets it.
    """
    assert msg.sender == guardian, "registry: not the guardian"
    self.paused = _paused


@internal
@view
def _registered(game: address) -> bool:
    game_type: uint32 = 0
    root_claim: bytes32 = empty(bytes32)
    extra: Bytes[32] = b""
    game_type, root_claim, extra = staticcall IGame(game).gameData()
    made: address = (staticcall IFactory(disputeGameFactory).games(game_type, root_claim, extra))[0]
    return made == game and staticcall IGame(game).anchorStateRegistry() == self


@internal
@view
def _resolved(game: address) -> bool:
    outcome: uint8 = staticcall IGame(game).status()
    return staticcall IGame(game).resolvedAt() != 0 and (outcome == DEFENDER_WINS or outcome == CHALLENGER_WINS)


@internal
@view
def _proper(game: address) -> bool:
    if not self._registered(game) or self.disputeGameBlacklist[game]:
        return False
    return staticcall IGame(game).createdAt() > self.retirementTimestamp and not self.paused


@internal
@view
def _finalized(game: address) -> bool:
    return (
        self._resolved(game)
        and block.timestamp - convert(staticcall IGame(game).resolvedAt(), uint256) > disputeGameFinalityDelaySeconds
    )


@external
@view
def isGameRegistered(_game: address) -> bool:
    return self._registered(_game)


@external
@view
def isGameRespected(_game: address) -> bool:
    return staticcall IGame(_game).wasRespectedGameTypeWhenCreated()


@external
@view
def isGameBlacklisted(_game: address) -> bool:
    return self.disputeGameBlacklist[_game]


@external
@view
def isGameRetired(_game: address) -> bool:
    return staticcall IGame(_game).createdAt() <= self.retirementTimestamp


@external
@view
def isGameResolved(_game: address) -> bool:
    return self._resolved(_game)


@external
@view
def isGameProper(_game: address) -> bool:
    return self._proper(_game)


@external
@view
def isGameFinalized(_game: address) -> bool:
    return self._finalized(_game)


@external
@view
def isGameClaimValid(_game: address) -> bool:
    return (
        self._proper(_game)
        and staticcall IGame(_game).wasRespectedGameTypeWhenCreated()
        and self._finalized(_game)
        and staticcall IGame(_game).status() == DEFENDER_WINS
    )
