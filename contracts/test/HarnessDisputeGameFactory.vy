# pragma version 0.4.3
"""
@title Devnet stand-in for Optimism's DisputeGameFactory
@custom:contract-name HarnessDisputeGameFactory
@license MIT
@notice The subset of `DisputeGameFactory` (packages/contracts-bedrock/src/dispute) that the resolver and
        the AnchorStateRegistry call, with upstream's names and ABI types: `create(gameType, rootClaim,
        extraData)`, `gameCount()`, `gameAtIndex(i) -> (gameType, timestamp, proxy)`, `games(gameType,
        rootClaim, extraData) -> (proxy, timestamp)`. Games are `HarnessFaultDisputeGame`s made from a
        blueprint; `extraData` is the 32-byte L2 block number, as upstream's output-root games take it.
        Test and devnet only, never deployed live.
"""


interface IAnchorStateRegistry:
    def respectedGameType() -> uint32: view


struct GameId:
    gameType: uint32
    timestamp: uint64
    proxy: address


_GAME_BLUEPRINT: immutable(address)
referee: public(immutable(address))
anchorStateRegistry: public(address)

_list: DynArray[GameId, 2**32]
_by_uuid: HashMap[bytes32, GameId]


event DisputeGameCreated:
    disputeProxy: indexed(address)
    gameType: indexed(uint32)
    rootClaim: indexed(bytes32)


@deploy
def __init__(game_blueprint: address):
    _GAME_BLUEPRINT = game_blueprint
    referee = msg.sender


@external
def harnessSetAnchorStateRegistry(registry: address):
    """
    @notice Wires the registry the games report (once; referee only).
    """
    assert msg.sender == referee, "factory: not the referee"
    assert self.anchorStateRegistry == empty(address), "factory: registry already set"
    self.anchorStateRegistry = registry


@external
def create(gameType: uint32, rootClaim: bytes32, extraData: Bytes[32]) -> address:
    assert len(extraData) == 32, "factory: extra data must be the L2 block number"
    uuid: bytes32 = keccak256(abi_encode(gameType, rootClaim, extraData))
    assert self._by_uuid[uuid].proxy == empty(address), "factory: game already exists"
    registry: address = self.anchorStateRegistry
    assert registry != empty(address), "factory: no registry"
    respected: bool = staticcall IAnchorStateRegistry(registry).respectedGameType() == gameType
    game: address = create_from_blueprint(
        _GAME_BLUEPRINT,
        gameType,
        rootClaim,
        extract32(extraData, 0, output_type=uint256),
        msg.sender,
        registry,
        respected,
        referee,
    )
    entry: GameId = GameId(gameType=gameType, timestamp=convert(block.timestamp, uint64), proxy=game)
    self._list.append(entry)
    self._by_uuid[uuid] = entry
    log DisputeGameCreated(disputeProxy=game, gameType=gameType, rootClaim=rootClaim)
    return game


@external
@view
def gameCount() -> uint256:
    return len(self._list)


@external
@view
def gameAtIndex(_index: uint256) -> (uint32, uint64, address):
    entry: GameId = self._list[_index]
    return entry.gameType, entry.timestamp, entry.proxy


@external
@view
def games(_gameType: uint32, _rootClaim: bytes32, _extraData: Bytes[32]) -> (address, uint64):
    entry: GameId = self._by_uuid[keccak256(abi_encode(_gameType, _rootClaim, _extraData))]
    return entry.proxy, entry.timestamp
