# pragma version 0.4.3
"""
@title Devnet stand-in for Arbitrum's BOLD rollup contract
@custom:contract-name HarnessArbitrumRollup
@license MIT
@notice The subset of nitro-contracts' BOLD `RollupCore` (src/rollup/IRollupCore.sol, RollupCore.sol,
        Assertion.sol, AssertionState.sol, state/GlobalState.sol) that the resolver and the gateway use, with
        upstream's names, struct layouts and ABI types:
        - views `latestConfirmed() -> bytes32`, `getAssertion(bytes32) -> AssertionNode` (status 0 NoAssertion,
          1 Pending, 2 Confirmed), `getAssertionCreationBlockForLogLookup(bytes32) -> uint256` (reverts for an
          unknown assertion) and `genesisAssertionHash() -> bytes32`;
        - events `AssertionCreated(bytes32 indexed assertionHash, bytes32 indexed parentAssertionHash,
          AssertionInputs assertion, bytes32 afterInboxBatchAcc, uint256 inboxMaxCount, bytes32 wasmModuleRoot,
          uint256 requiredStake, address challengeManager, uint64 confirmPeriodBlocks)` (also for the genesis
          assertion, as upstream's `initialize` does) and `AssertionConfirmed(bytes32 indexed, bytes32, bytes32)`.
        An assertion's hash is upstream's `RollupLib.assertionHash`: `keccak256(parentAssertionHash ‖
        keccak256(abi.encode(afterState)) ‖ inboxAcc)`; the genesis assertion's is that of (0, the empty global
        state FINISHED, 0). A new assertion's before-state must hash, with its `beforeStateData`, to the parent
        (upstream's INVALID_BEFORE_STATE check). Unlike upstream there is no bridge, no stake and no challenge:
        the referee (the deployer) posts assertions with `harnessAssert`, naming the inbox accumulator itself
        (upstream reads it from the bridge), and confirms them with `harnessConfirm`. Test and devnet only, never
        deployed live.
"""


struct GlobalState:
    bytes32Vals: bytes32[2]
    u64Vals: uint64[2]


struct AssertionState:
    globalState: GlobalState
    machineStatus: uint8
    endHistoryRoot: bytes32


struct AssertionNode:
    firstChildBlock: uint64
    secondChildBlock: uint64
    createdAtBlock: uint64
    isFirstChild: bool
    status: uint8
    configHash: bytes32


struct ConfigData:
    wasmModuleRoot: bytes32
    requiredStake: uint256
    challengeManager: address
    confirmPeriodBlocks: uint64
    nextInboxPosition: uint64


struct BeforeStateData:
    prevPrevAssertionHash: bytes32
    sequencerBatchAcc: bytes32
    configData: ConfigData


struct AssertionInputs:
    beforeStateData: BeforeStateData
    beforeState: AssertionState
    afterState: AssertionState


PENDING: constant(uint8) = 1
CONFIRMED: constant(uint8) = 2
FINISHED: constant(uint8) = 1
ERRORED: constant(uint8) = 2

referee: public(immutable(address))
latestConfirmed: public(bytes32)
_assertions: HashMap[bytes32, AssertionNode]


event AssertionCreated:
    assertionHash: indexed(bytes32)
    parentAssertionHash: indexed(bytes32)
    assertion: AssertionInputs
    afterInboxBatchAcc: bytes32
    inboxMaxCount: uint256
    wasmModuleRoot: bytes32
    requiredStake: uint256
    challengeManager: address
    confirmPeriodBlocks: uint64


event AssertionConfirmed:
    assertionHash: indexed(bytes32)
    blockHash: bytes32
    sendRoot: bytes32


@internal
@pure
def _hash(parentAssertionHash: bytes32, state: AssertionState, inboxAcc: bytes32) -> bytes32:
    return keccak256(concat(parentAssertionHash, keccak256(abi_encode(state)), inboxAcc))


@internal
@pure
def _genesis_state() -> AssertionState:
    return AssertionState(
        globalState=empty(GlobalState), machineStatus=FINISHED, endHistoryRoot=empty(bytes32)
    )


@internal
def _create(assertion: bytes32, parent: bytes32, inputs: AssertionInputs, inboxAcc: bytes32, first: bool):
    self._assertions[assertion] = AssertionNode(
        firstChildBlock=0,
        secondChildBlock=0,
        createdAtBlock=convert(block.number, uint64),
        isFirstChild=first,
        status=PENDING,
        configHash=empty(bytes32),
    )
    log AssertionCreated(
        assertionHash=assertion,
        parentAssertionHash=parent,
        assertion=inputs,
        afterInboxBatchAcc=inboxAcc,
        inboxMaxCount=convert(inputs.afterState.globalState.u64Vals[0], uint256) + 1,
        wasmModuleRoot=empty(bytes32),
        requiredStake=0,
        challengeManager=empty(address),
        confirmPeriodBlocks=0,
    )


@deploy
def __init__():
    referee = msg.sender
    genesis: bytes32 = self._hash(empty(bytes32), self._genesis_state(), empty(bytes32))
    inputs: AssertionInputs = empty(AssertionInputs)
    inputs.afterState = self._genesis_state()
    self._create(genesis, empty(bytes32), inputs, empty(bytes32), True)
    self._assertions[genesis].status = CONFIRMED
    self.latestConfirmed = genesis


@external
@pure
def genesisAssertionHash() -> bytes32:
    return self._hash(empty(bytes32), self._genesis_state(), empty(bytes32))


@external
@pure
def assertionHash(parentAssertionHash: bytes32, afterState: AssertionState, inboxAcc: bytes32) -> bytes32:
    return self._hash(parentAssertionHash, afterState, inboxAcc)


@external
def harnessAssert(assertion: AssertionInputs, prevAssertionHash: bytes32, inboxAcc: bytes32) -> bytes32:
    """
    @notice Posts a pending assertion on top of `prevAssertionHash` (upstream's `stakeOnNewAssertion` without
            stake); returns its hash. Referee only.
    """
    assert msg.sender == referee, "rollup: not the referee"
    parent: AssertionNode = self._assertions[prevAssertionHash]
    assert parent.status != 0, "rollup: unknown parent"
    status: uint8 = assertion.afterState.machineStatus
    assert status == FINISHED or status == ERRORED, "rollup: bad after status"
    before: BeforeStateData = assertion.beforeStateData
    assert self._hash(before.prevPrevAssertionHash, assertion.beforeState, before.sequencerBatchAcc) == (
        prevAssertionHash
    ), "rollup: invalid before state"
    new: bytes32 = self._hash(prevAssertionHash, assertion.afterState, inboxAcc)
    assert self._assertions[new].status == 0, "rollup: assertion exists"
    if parent.firstChildBlock == 0:
        self._assertions[prevAssertionHash].firstChildBlock = convert(block.number, uint64)
    elif parent.secondChildBlock == 0:
        self._assertions[prevAssertionHash].secondChildBlock = convert(block.number, uint64)
    self._create(new, prevAssertionHash, assertion, inboxAcc, parent.firstChildBlock == 0)
    return new


@external
def harnessConfirm(assertion: bytes32, blockHash: bytes32, sendRoot: bytes32):
    """
    @notice Confirms a pending assertion. Referee only.
    """
    assert msg.sender == referee, "rollup: not the referee"
    assert self._assertions[assertion].status == PENDING, "rollup: not pending"
    self._assertions[assertion].status = CONFIRMED
    self.latestConfirmed = assertion
    log AssertionConfirmed(assertionHash=assertion, blockHash=blockHash, sendRoot=sendRoot)


@external
@view
def getAssertion(assertionHash: bytes32) -> AssertionNode:
    return self._assertions[assertionHash]


@external
@view
def getAssertionCreationBlockForLogLookup(assertionHash: bytes32) -> uint256:
    node: AssertionNode = self._assertions[assertionHash]
    assert node.status != 0, "ASSERTION_NOT_EXIST"
    return convert(node.createdAtBlock, uint256)
