# pragma version 0.4.3
"""
@title dm3 relay batcher
@custom:contract-name RelayBatcher
@license MIT
@notice Carries several signed writes in one transaction, so a relayer pays the 21,000 base cost
        and the cold account accesses once per batch instead of once per write. Each write is
        an ordinary call to its contract: its authorisation is its own signature, checked by
        that contract exactly as if it were sent alone, and one failing write does not undo the
        others in the batch.
@dev The batcher holds nothing and is owned by no one: it has no storage, approvals or tokens,
     so calling a write through it gives that write no authority it would not have from any
     other sender (a direct, unsigned write through it acts as the batcher itself, which owns
     nothing). Every call is made with the gas left minus 1/64 (EIP-150); a write that burns
     all of it starves the writes after it, which a relayer avoids by simulating each write
     before it queues it. Which writes failed is announced in one event as a bitmap.
     Batching pays for light writes (burns, releases, withdrawals, addresses): the 21,000 base
     cost and the cold accesses to the target and its shared slots are paid once per batch.
"""


################################################################
#                          CONSTANTS                           #
################################################################


# @notice The most writes in one batch.
MAX_CALLS: public(constant(uint256)) = 16


# @notice The largest calldata of one write in a batch: every signed deposit write (~300-420 bytes)
# and a `setTextWithSig` of up to ~1,100 bytes of key and value fit; a larger record is sent on
# its own. Vyper copies the whole batch into memory, so memory (and its gas, quadratic) grows
# with MAX_CALLS x MAX_CALLDATA: at 16 x 1,536 bytes it costs ~3.7k gas per batch.
MAX_CALLDATA: public(constant(uint256)) = 1_536


################################################################
#                           STRUCTS                            #
################################################################


# @notice One write: the contract and its calldata.
struct Call:
    target: address
    data: Bytes[MAX_CALLDATA]


################################################################
#                            EVENTS                            #
################################################################


# @notice A batch was carried.
# @param relayer The account that sent it.
# @param calls The number of writes in it.
# @param failed The writes that reverted: bit `i` is set when write `i` did.
event BatchRelayed:
    relayer: indexed(address)
    calls: uint256
    failed: uint256


################################################################
#                         USER WRITES                          #
################################################################


@external
def relay(calls: DynArray[Call, MAX_CALLS]) -> uint256:
    """
    @notice Sends every write in order and reports which ones reverted.
    @dev Reverts only for an empty batch or a target without code (a write to an account without
         code would "succeed" without doing anything).
    @param calls The writes.
    @return uint256 The bitmap of failed writes (bit `i` = write `i`).
    """
    assert len(calls) != 0, "batcher: no calls"
    failed: uint256 = 0
    for index: uint256 in range(len(calls), bound=MAX_CALLS):
        assert calls[index].target.is_contract, "batcher: target is not a contract"
        if not raw_call(calls[index].target, calls[index].data, max_outsize=0, revert_on_failure=False):
            failed |= 1 << index
    log BatchRelayed(relayer=msg.sender, calls=len(calls), failed=failed)
    return failed
