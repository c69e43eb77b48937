# pragma version 0.4.3
"""
@title Devnet stand-in for Arbitrum's BOLD rollup contract
@custom:contract-name HarnessArbitrumRollup
@license MIT
@notice The views of nitro-contracts' `RollupCore` (src/rollup) that the resolver calls, with upstream's
        names and ABI types: `latestConfirmed() -> bytes32` and `getAssertion(bytes32) -> AssertionNode`
        (status 0 NoAssertion, 1 Pending, 2 Confirmed). An assertion's hash is upstream's
        `keccak256(parentAssertionHash ‖ keccak256(abi.encode(AssertionState)) ‖ inboxAcc)`, and the L2
        block hash is the after-state's `globalState.bytes32Vals[0]`. There are no stakes and no
        challenges: the referee (the deployer) posts assertions with `harnessAssert` and confirms them
        with `harnessConfirm`. Test and devnet only, never deployed live.
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


PENDING: constant(uint8) = 1
CONFIRMED: constant(uint8) = 2

referee: public(immutable(address))
latestConfirmed: public(bytes32)
_assertions: HashMap[bytes32, AssertionNode]


event AssertionCreated:
    assertionHash: indexed(bytes32)
    parentAssertionHash: indexed(bytes32)
    afterState: AssertionState
    afterInboxBatchAcc: bytes32


event AssertionConfirmed:
    assertionHash: indexed(bytes32)
    blockHash: bytes32
    sendRoot: bytes32


@deploy
def __init__(genesis: bytes32):
    referee = msg.sender
    self.latestConfirmed = genesis
    self._assertions[genesis] = AssertionNode(
        firstChildBlock=0,
        secondChildBlock=0,
        createdAtBlock=convert(block.number, uint64),
        isFirstChild=False,
        status=CONFIRMED,
        configHash=empty(bytes32),
    )


@external
@pure
def assertionHash(parentAssertionHash: bytes32, afterState: AssertionState, inboxAcc: bytes32) -> bytes32:
    return keccak256(concat(parentAssertionHash, keccak256(abi_encode(afterState)), inboxAcc))


@external
def harnessAssert(parentAssertionHash: bytes32, afterState: AssertionState, inboxAcc: bytes32) -> bytes32:
    """
    @notice Posts a pending assertion on top of an existing one; returns its hash. Referee only.
    """
    assert msg.sender == referee, "rollup: not the referee"
    assert self._assertions[parentAssertionHash].status != 0, "rollup: unknown parent"
    assertion: bytes32 = keccak256(concat(parentAssertionHash, keccak256(abi_encode(afterState)), inboxAcc))
    assert self._assertions[assertion].status == 0, "rollup: assertion exists"
    self._assertions[assertion] = AssertionNode(
        firstChildBlock=0,
        secondChildBlock=0,
        createdAtBlock=convert(block.number, uint64),
        isFirstChild=True,
        status=PENDING,
        configHash=empty(bytes32),
    )
    log AssertionCreated(
        assertionHash=assertion,
        parentAssertionHash=parentAssertionHash,
        afterState=afterState,
        afterInboxBatchAcc=inboxAcc,
    )
    return assertion


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
