# pragma version 0.4.3
"""
@title Fee-on-transfer token (test only)
@custom:contract-name FeeOnTransferToken
@license MIT
@notice Every transfer destroys 1% of the amount on the way, so the receiver gets less than was
        sent. InboxDeposits must refuse it. Anyone may mint.
"""


from ethereum.ercs import IERC20
implements: IERC20


# @dev The fee in basis points of each transfer.
FEE_BPS: public(constant(uint256)) = 100


# @dev Balances by holder.
balanceOf: public(HashMap[address, uint256])


# @dev Allowances by owner and spender.
allowance: public(HashMap[address, HashMap[address, uint256]])


# @dev Tokens in existence.
totalSupply: public(uint256)


@external
def mint(to: address, amount: uint256):
    """
    @notice Creates `amount` tokens for `to` (no access control: test only).
    @param to The receiver.
    @param amount The amount to create.
    """
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log IERC20.Transfer(sender=empty(address), receiver=to, value=amount)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from the caller; `to` receives it less the fee.
    @param to The receiver.
    @param amount The amount sent.
    @return bool Always True.
    """
    self._move(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from `owner` against the caller's allowance; `to` receives it less the fee.
    @param owner The holder.
    @param to The receiver.
    @param amount The amount sent.
    @return bool Always True.
    """
    self.allowance[owner][msg.sender] -= amount
    self._move(owner, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Sets `spender`'s allowance over the caller's tokens.
    @param spender The spender.
    @param amount The allowance.
    @return bool Always True.
    """
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@internal
def _move(owner: address, to: address, amount: uint256):
    """
    @notice Moves `amount` out of `owner`, credits `to` with it less the fee and destroys the fee.
    @param owner The holder.
    @param to The receiver.
    @param amount The amount sent.
    """
    fee: uint256 = amount * FEE_BPS // 10_000
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - fee
    self.totalSupply -= fee
    log IERC20.Transfer(sender=owner, receiver=to, value=amount - fee)
