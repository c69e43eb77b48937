# pragma version 0.4.3
"""
@title Re-entering token (test only)
@custom:contract-name HostileToken
@license MIT
@notice A plain ERC-20 (no `burn`) whose `transfer` and `transferFrom` call back into a chosen
        contract with chosen calldata before returning, as a malicious or hook-carrying token
        could. The outcome of the last call-back is kept for the test to read. Anyone may mint and
        arm it, and make it call anything as itself (`execute`).
"""


from ethereum.ercs import IERC20
implements: IERC20


# @dev The longest call-back calldata the token stores.
MAX_PAYLOAD: constant(uint256) = 512


# @dev Balances by holder.
balanceOf: public(HashMap[address, uint256])


# @dev Allowances by owner and spender.
allowance: public(HashMap[address, HashMap[address, uint256]])


# @dev Tokens in existence.
totalSupply: public(uint256)


# @dev The contract called back on every transfer; zero = disarmed.
target: public(address)


# @dev The calldata of the call-back.
payload: public(Bytes[MAX_PAYLOAD])


# @dev How many call-backs were attempted.
attempts: public(uint256)


# @dev Whether the last call-back succeeded.
last_succeeded: public(bool)


# @dev The revert data of the last call-back (empty when it succeeded).
last_revert_data: public(Bytes[MAX_PAYLOAD])


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
def arm(target: address, payload: Bytes[MAX_PAYLOAD]):
    """
    @notice Sets the call-back made on every transfer (zero `target` disarms).
    @param target The contract to call back.
    @param payload The calldata to send it.
    """
    self.target = target
    self.payload = payload


@external
def execute(target: address, payload: Bytes[MAX_PAYLOAD]):
    """
    @notice Makes the token itself call `target`, so it can hold bonds as a sender (test only).
    @param target The contract to call.
    @param payload The calldata.
    """
    raw_call(target, payload)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from the caller to `to`, then calls back.
    @param to The receiver.
    @param amount The amount to move.
    @return bool Always True.
    """
    self._move(msg.sender, to, amount)
    self._call_back()
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from `owner` to `to` against the caller's allowance, then calls back.
    @param owner The holder.
    @param to The receiver.
    @param amount The amount to move.
    @return bool Always True.
    """
    self.allowance[owner][msg.sender] -= amount
    self._move(owner, to, amount)
    self._call_back()
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


@internal
def _call_back():
    """
    @notice Calls the armed target, keeping whether it succeeded and its revert data.
    """
    target: address = self.target
    if target == empty(address):
        return
    success: bool = False
    response: Bytes[MAX_PAYLOAD] = b""
    success, response = raw_call(target, self.payload, max_outsize=MAX_PAYLOAD, revert_on_failure=False)
    self.attempts += 1
    self.last_succeeded = success
    if success:
        self.last_revert_data = b""
    else:
        self.last_revert_data = response
