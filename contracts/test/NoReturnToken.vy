# pragma version 0.4.3
"""
@title USDT-style token (test only)
@custom:contract-name NoReturnToken
@license MIT
@notice `transfer`, `transferFrom` and `approve` return nothing, as USDT's do, so callers that
        insist on a `bool` fail on it. It has no `burn`, so InboxDeposits must fall back to
        sending burned tokens to 0x...dEaD. Anyone may mint.
"""


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


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
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def transfer(to: address, amount: uint256):
    """
    @notice Moves `amount` from the caller to `to`; returns nothing.
    @param to The receiver.
    @param amount The amount to move.
    """
    self._move(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256):
    """
    @notice Moves `amount` from `owner` to `to` against the caller's allowance; returns nothing.
    @param owner The holder.
    @param to The receiver.
    @param amount The amount to move.
    """
    self.allowance[owner][msg.sender] -= amount
    self._move(owner, to, amount)


@external
def approve(spender: address, amount: uint256):
    """
    @notice Sets `spender`'s allowance over the caller's tokens; returns nothing.
    @param spender The spender.
    @param amount The allowance.
    """
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)


@internal
def _move(owner: address, to: address, amount: uint256):
    """
    @notice Moves `amount` from `owner` to `to`, reverting on a short balance.
    @param owner The holder.
    @param to The receiver.
    @param amount The amount to move.
    """
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    log Transfer(sender=owner, receiver=to, value=amount)
