# pragma version 0.4.3
"""
@title Token whose `burn` lies (test only)
@custom:contract-name LyingBurnToken
@license MIT
@notice `burn(uint256)` succeeds without burning anything (as a catch-all fallback such as WETH's
        would), or, once `set_short_burn(True)`, burns only half. InboxDeposits must notice: send the
        tokens to 0x...dEaD in the first case, refuse in the second. Anyone may mint.
"""


from ethereum.ercs import IERC20
implements: IERC20


# @dev Balances by holder.
balanceOf: public(HashMap[address, uint256])


# @dev Allowances by owner and spender.
allowance: public(HashMap[address, HashMap[address, uint256]])


# @dev Tokens in existence.
totalSupply: public(uint256)


# @dev When True, `burn` destroys half the amount; otherwise nothing.
short_burn: public(bool)


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
def set_short_burn(enabled: bool):
    """
    @notice Switches `burn` between burning nothing and burning half.
    @param enabled True to burn half.
    """
    self.short_burn = enabled


@external
def burn(amount: uint256):
    """
    @notice Claims to burn `amount` of the caller's tokens; burns nothing or half (see `short_burn`).
    @param amount The amount asked for.
    """
    if self.short_burn:
        half: uint256 = amount // 2
        self.balanceOf[msg.sender] -= half
        self.totalSupply -= half
        log IERC20.Transfer(sender=msg.sender, receiver=empty(address), value=half)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from the caller to `to`.
    @param to The receiver.
    @param amount The amount to move.
    @return bool Always True.
    """
    self._move(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from `owner` to `to` against the caller's allowance.
    @param owner The holder.
    @param to The receiver.
    @param amount The amount to move.
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
    @notice Moves `amount` from `owner` to `to`.
    @param owner The holder.
    @param to The receiver.
    @param amount The amount to move.
    """
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    log IERC20.Transfer(sender=owner, receiver=to, value=amount)
