# pragma version 0.4.3
"""
@title dm3 inbox deposits
@custom:contract-name InboxDeposits
@license MIT
@notice Anti-spam bonds. A recipient sets the deposit a stranger must lock to reach their inbox
        (`set_min_deposit`); a sender locks tokens for that recipient (`deposit`, top-ups add).
        The recipient then either burns some or all of the bond (spam) or releases the sender
        (accepted for good, bond withdrawable at once). A sender who wants the bond back without
        being accepted asks first (`request_withdrawal`) and withdraws after the cooldown, during
        which the recipient can still burn and the sender is no longer eligible.

        Eligible(sender, recipient) = accepted, or min deposit 0, or (bond >= min deposit and no
        withdrawal pending); see `is_eligible`.

        Every user action also comes signed (EIP-712, one nonce per signer, deadline; EOA or
        ERC-1271 signers; `contracts/modules/signed_calls.vy`) so that a relayer can carry it and
        pay the gas: `set_min_deposit_with_sig`, `deposit_with_sig` (tokens pulled through an
        EIP-2612 permit), `burn_with_sig`, `release_with_sig`, `request_withdrawal_with_sig` and
        `withdraw_with_sig`. A recipient's delivery node typically relays its burns and releases.

        The owner may pause new deposits and sweep tokens sent here by mistake; nothing else.
        Burn, release, request and withdraw work whether paused or not; bonds never leave except
        to their sender (withdraw) or to destruction (burn).
@dev Token: one ERC-20, fixed at deployment. Tokens without a return value (USDT-style) work;
     fee-on-transfer tokens are refused at deposit (the balance must grow by exactly the amount).
     Every bond and every total fits in 128 bits. The bound is on live amounts only: a deposit
     that would push the tokens currently held in bonds past 2**128 - 1 reverts, and every burn
     and withdrawal makes room again, so no sequence of calls (deposit -> release -> withdraw of
     the same tokens, flash-loaned or not) can exhaust it. All-time totals (deposited, burned,
     withdrawn) are not kept on-chain: they follow from the events, and the indexer serves them.

     Storage per pair is one slot: amount (bits 0-127), unlock time (bits 128-191) and the accepted
     flag (bit 192). The two live totals share one slot, so every operation writes it once:
     owed = all bonds, active + pending (bits 0-127), and pending = bonds with a withdrawal
     request outstanding (bits 128-255); active = owed - pending.

     A pending withdrawal's bond stays burnable during the cooldown only: from its unlock time on
     it is the sender's, and a burn is refused so the recipient cannot front-run `withdraw`.

     Burned tokens are destroyed at once: the contract calls the token's `burn(uint256)` and
     checks that its own balance fell by exactly the amount; if the token has no such function
     (the call fails, or succeeds without burning) it sends them to 0x000000000000000000000000000000000000dEaD
     instead. Either way no one, the owner included, can get them back.
"""


################################################################
#                          INTERFACES                          #
################################################################


from ethereum.ercs import IERC20


################################################################
#                           MODULES                            #
################################################################


# @dev The owner (pause, sweep), moved in two steps.
from snekmate.auth import ownable
initializes: ownable


from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]


# @dev The pause on new deposits.
from snekmate.utils import pausable
initializes: pausable


# @dev The EIP-712 domain "dm3 InboxDeposits", version "1".
from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator


# @dev Nonces and the one signature check of every `..._with_sig` write.
from modules import signed_calls
initializes: signed_calls[eip712_domain_separator := eip712_domain_separator]


################################################################
#                           EXPORTS                            #
################################################################


exports: (
    # Two-step ownership; `renounce_ownership` is our own (refused while paused).
    ownable.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    # The pause flag; `pause` and `unpause` are our own (owner only).
    pausable.paused,
    # EIP-712 signed writes: the signer's next nonce, the domain separator
    # and its EIP-5267 description.
    signed_calls.nonces,
    signed_calls.DOMAIN_SEPARATOR,
    eip712_domain_separator.eip712Domain,
)


################################################################
#                          CONSTANTS                           #
################################################################


# @notice The default cooldown used by the deploy scripts: 7 days.
DEFAULT_COOLDOWN: public(constant(uint256)) = 7 * 86_400


# @notice The longest cooldown the constructor accepts: 365 days.
MAX_COOLDOWN: public(constant(uint256)) = 365 * 86_400


# @notice Where burned tokens go when the token cannot burn them itself.
DEAD: public(constant(address)) = 0x000000000000000000000000000000000000dEaD


# @notice EIP-712 type hash of a signed burn.
BURN_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Burn(address sender,address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed release.
RELEASE_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Release(address sender,address recipient,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed price change.
SET_MIN_DEPOSIT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "SetMinDeposit(address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed deposit (tokens pulled from the sender, typically through a permit).
DEPOSIT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Deposit(address sender,address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed withdrawal request.
REQUEST_WITHDRAWAL_TYPEHASH: public(constant(bytes32)) = keccak256(
    "RequestWithdrawal(address sender,address recipient,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed withdrawal.
WITHDRAW_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Withdraw(address sender,address recipient,address receiver,uint256 nonce,uint256 deadline)"
)


# @dev The largest bond or total: every amount is kept in 128 bits.
_MAX_AMOUNT: constant(uint256) = 2**128 - 1


# @dev Packed bond: where the unlock time starts.
_UNLOCK_SHIFT: constant(uint256) = 128


# @dev Packed bond: the unlock time's width mask (64 bits) once shifted down.
_UNLOCK_MASK: constant(uint256) = 2**64 - 1


# @dev Packed bond: the accepted flag.
_ACCEPTED: constant(uint256) = 1 << 192


# @dev Packed totals: where the second counter starts.
_HIGH_SHIFT: constant(uint256) = 128


# @dev `burn(uint256)`, probed on the token with a raw call.
_BURN_SELECTOR: constant(bytes4) = method_id("burn(uint256)", output_type=bytes4)


# @dev EIP-2612 `permit`, tried on the token with a raw call.
_PERMIT_SELECTOR: constant(bytes4) = method_id(
    "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)", output_type=bytes4
)


################################################################
#                          IMMUTABLES                          #
################################################################


# @notice The ERC-20 every bond is held in.
TOKEN: public(immutable(address))


# @notice Seconds between `request_withdrawal` and the earliest `withdraw`.
COOLDOWN: public(immutable(uint256))


################################################################
#                           STRUCTS                            #
################################################################


# @notice A pair's bond, unpacked for readers (`bonds`).
struct Bond:
    amount: uint256
    unlock_time: uint256
    accepted: bool


################################################################
#                           STORAGE                            #
################################################################


# @notice The deposit a stranger must hold to reach each recipient; 0 = open inbox.
min_deposit: public(HashMap[address, uint256])


# @dev Packed bonds by sender, then recipient (see the contract's `@dev`).
_bonds: HashMap[address, HashMap[address, uint256]]


# @dev Live totals: owed, all bonds (bits 0-127), and pending, bonds with a withdrawal request
# outstanding (bits 128-255).
_owed_pending: uint256


################################################################
#                            EVENTS                            #
################################################################


# @notice A recipient set its price for strangers.
# @param recipient The inbox owner.
# @param amount The new minimum deposit; 0 = open inbox.
event MinDepositSet:
    recipient: indexed(address)
    amount: uint256


# @notice A deposit or top-up.
# @param sender The sender whose bond grew.
# @param recipient The inbox the bond is for.
# @param payer The account the tokens came from (the sender).
# @param amount The tokens added.
# @param bond The pair's bond after it.
event Deposited:
    sender: indexed(address)
    recipient: indexed(address)
    payer: address
    amount: uint256
    bond: uint256


# @notice The recipient burned part or all of a bond.
# @param sender The sender whose bond was burned.
# @param recipient The recipient who burned it.
# @param amount The tokens destroyed.
# @param bond What remains of the bond.
event Burned:
    sender: indexed(address)
    recipient: indexed(address)
    amount: uint256
    bond: uint256


# @notice The recipient accepted the sender for good.
# @param sender The sender accepted.
# @param recipient The recipient who accepted.
# @param bond The bond, withdrawable at once from now on.
event Released:
    sender: indexed(address)
    recipient: indexed(address)
    bond: uint256


# @notice The sender started the cooldown on a bond.
# @param sender The sender.
# @param recipient The inbox the bond is for.
# @param bond The bond amount.
# @param unlock_time When `withdraw` starts to work (and burns stop).
event WithdrawalRequested:
    sender: indexed(address)
    recipient: indexed(address)
    bond: uint256
    unlock_time: uint256


# @notice The sender took the whole bond out.
# @param sender The sender.
# @param recipient The inbox the bond was for.
# @param receiver Where the tokens went.
# @param amount The tokens sent.
event Withdrawn:
    sender: indexed(address)
    recipient: indexed(address)
    receiver: address
    amount: uint256


# @notice The owner swept tokens that were sent here outside any bond.
# @param receiver Where the tokens went.
# @param amount The tokens sent.
event ExcessSwept:
    receiver: indexed(address)
    amount: uint256


################################################################
#                         CONSTRUCTOR                          #
################################################################


@deploy
def __init__(token: address, cooldown: uint256, owner: address):
    """
    @notice Binds the contract to one ERC-20 and one cooldown, owned by `owner`.
    @dev Deploy scripts pass `DEFAULT_COOLDOWN` (604800 s = 7 days). The deployer gets nothing:
         ownership moves from it to `owner` inside the constructor, so the address does not
         depend on who deploys it (e.g. the deterministic-deployment proxy).
    @param token The ERC-20 bonds are held in; must be a contract.
    @param cooldown Seconds from `request_withdrawal` to `withdraw`; 1 to `MAX_COOLDOWN` (365 days).
    @param owner The owner (pause, sweep); not the zero address ("deposits: zero owner").
    """
    assert token.is_contract, "deposits: token is not a contract"
    assert cooldown != 0, "deposits: zero cooldown"
    assert cooldown <= MAX_COOLDOWN, "deposits: cooldown too long"
    assert owner != empty(address), "deposits: zero owner"
    TOKEN = token
    COOLDOWN = cooldown
    ownable.__init__()
    ownable_2step.__init__()
    ownable_2step._transfer_ownership(owner)
    pausable.__init__()
    eip712_domain_separator.__init__("dm3 InboxDeposits", "1")
    signed_calls.__init__("deposits")


################################################################
#                         USER WRITES                          #
################################################################


@external
def set_min_deposit(amount: uint256):
    """
    @notice Sets the deposit a stranger must hold to reach the caller's inbox (0 = open).
    @dev Takes effect at once for eligibility; existing bonds are not touched.
    @param amount The minimum bond, in the token's smallest unit.
    """
    self._set_min_deposit(msg.sender, amount)


@external
def set_min_deposit_with_sig(recipient: address, amount: uint256, deadline: uint256, signature: Bytes[65]):
    """
    @notice `set_min_deposit` on behalf of `recipient`, carried by anyone holding its signature.
    @dev EIP-712 `SetMinDeposit(address recipient,uint256 amount,uint256 nonce,uint256 deadline)`;
         nonce = `nonces(recipient)` (one nonce per signer for every signed call of this contract).
    @param recipient The inbox owner who signed.
    @param amount The minimum bond; 0 = open inbox.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The recipient's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        recipient,
        deadline,
        signature,
        keccak256(abi_encode(SET_MIN_DEPOSIT_TYPEHASH, recipient, amount, signed_calls.nonces[recipient], deadline)),
    )
    self._set_min_deposit(recipient, amount)


@external
@nonreentrant
def deposit(recipient: address, amount: uint256):
    """
    @notice Locks `amount` tokens from the caller as their bond for `recipient`; a top-up adds.
    @dev Needs an allowance of `amount` for this contract. Reverts when paused, on a zero amount,
         a zero or self recipient, an accepted pair, a pending withdrawal or a fee-on-transfer token.
    @param recipient The inbox the bond is for.
    @param amount The tokens to add.
    """
    self._deposit(msg.sender, recipient, amount, False, 0, 0, empty(bytes32), empty(bytes32))


@external
@nonreentrant
def deposit_with_permit(
    recipient: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32
):
    """
    @notice `deposit` with an EIP-2612 permit for exactly `amount`, in one transaction.
    @dev The permit is tried and its failure ignored when the allowance already covers `amount`:
         anyone can submit a signed permit first (front-running it), which must not make the
         deposit fail. Without such an allowance it reverts with "deposits: permit failed".
    @param recipient The inbox the bond is for.
    @param amount The tokens to add (and the permit's value).
    @param deadline The permit's deadline.
    @param v The permit signature's `v`.
    @param r The permit signature's `r`.
    @param s The permit signature's `s`.
    """
    self._deposit(msg.sender, recipient, amount, True, deadline, v, r, s)


@external
@nonreentrant
def deposit_with_sig(
    sender: address,
    recipient: address,
    amount: uint256,
    deadline: uint256,
    signature: Bytes[65],
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    """
    @notice A deposit authorised by the sender's signature and paid from the sender's tokens, so a
            sender without gas can stake: the relayer carries both the deposit order and an EIP-2612
            permit for exactly `amount`.
    @dev EIP-712 `Deposit(address sender,address recipient,uint256 amount,uint256 nonce,uint256 deadline)`;
         `deadline` is also the permit's deadline. As in `deposit_with_permit`, a permit that fails
         (front-run, already used, or `v = 0` to skip it) is ignored when the sender's allowance
         already covers `amount`, else "deposits: permit failed".
    @param sender The sender (and payer) who signed.
    @param recipient The inbox the bond is for.
    @param amount The tokens to add (and the permit's value).
    @param deadline The last timestamp at which both signatures are valid.
    @param signature The sender's 64/65-byte ECDSA or ERC-1271 signature of the deposit.
    @param v The permit signature's `v`.
    @param r The permit signature's `r`.
    @param s The permit signature's `s`.
    """
    signed_calls._use_signature(
        sender,
        deadline,
        signature,
        keccak256(abi_encode(DEPOSIT_TYPEHASH, sender, recipient, amount, signed_calls.nonces[sender], deadline)),
    )
    self._deposit(sender, recipient, amount, True, deadline, v, r, s)


@external
@nonreentrant
def burn(sender: address, amount: uint256):
    """
    @notice Destroys `amount` of `sender`'s bond for the caller's inbox (the caller is the recipient).
    @dev Partial burns are allowed; allowed during a withdrawal cooldown but refused from its
         unlock time on (the bond is then the sender's); refused once accepted.
    @param sender The sender whose bond is burned.
    @param amount The tokens to destroy; at most the bond.
    """
    self._burn(sender, msg.sender, amount)


@external
@nonreentrant
def burn_with_sig(sender: address, recipient: address, amount: uint256, deadline: uint256, signature: Bytes[65]):
    """
    @notice `burn` on behalf of `recipient`, carried by anyone holding the recipient's signature.
    @dev EIP-712 `Burn(address sender,address recipient,uint256 amount,uint256 nonce,uint256 deadline)`
         in domain ("dm3 InboxDeposits", "1", chainId, this contract); nonce = `nonces(recipient)`.
         EOA signatures (65 or 64 bytes) and ERC-1271 contract recipients are accepted.
    @param sender The sender whose bond is burned.
    @param recipient The recipient who signed.
    @param amount The tokens to destroy; at most the bond.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The recipient's signature.
    """
    signed_calls._use_signature(
        recipient,
        deadline,
        signature,
        keccak256(abi_encode(BURN_TYPEHASH, sender, recipient, amount, signed_calls.nonces[recipient], deadline)),
    )
    self._burn(sender, recipient, amount)


@external
@nonreentrant
def release(sender: address):
    """
    @notice Accepts `sender` into the caller's inbox for good; their bond becomes withdrawable at
            once and can no longer be burned. Works with a zero bond (pure acceptance).
    @param sender The sender to accept.
    """
    self._release(sender, msg.sender)


@external
@nonreentrant
def release_with_sig(sender: address, recipient: address, deadline: uint256, signature: Bytes[65]):
    """
    @notice `release` on behalf of `recipient`, carried by anyone holding the recipient's signature.
    @dev EIP-712 `Release(address sender,address recipient,uint256 nonce,uint256 deadline)`, same
         domain and nonce as `burn_with_sig`.
    @param sender The sender to accept.
    @param recipient The recipient who signed.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The recipient's signature.
    """
    signed_calls._use_signature(
        recipient,
        deadline,
        signature,
        keccak256(abi_encode(RELEASE_TYPEHASH, sender, recipient, signed_calls.nonces[recipient], deadline)),
    )
    self._release(sender, recipient)


@external
@nonreentrant
def request_withdrawal(recipient: address):
    """
    @notice Starts the cooldown on the caller's bond for `recipient`. From now on the caller is no
            longer eligible through this bond, the recipient can still burn it, and `withdraw`
            works once `block.timestamp >= unlock_time` (`unlock_time = now + COOLDOWN`).
    @dev Not for accepted pairs: their bond is withdrawable at once.
    @param recipient The inbox the bond is for.
    """
    self._request_withdrawal(msg.sender, recipient)


@external
@nonreentrant
def request_withdrawal_with_sig(sender: address, recipient: address, deadline: uint256, signature: Bytes[65]):
    """
    @notice `request_withdrawal` on behalf of `sender`, carried by anyone holding its signature.
    @dev EIP-712 `RequestWithdrawal(address sender,address recipient,uint256 nonce,uint256 deadline)`.
    @param sender The sender who signed.
    @param recipient The inbox the bond is for.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The sender's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        sender,
        deadline,
        signature,
        keccak256(abi_encode(REQUEST_WITHDRAWAL_TYPEHASH, sender, recipient, signed_calls.nonces[sender], deadline)),
    )
    self._request_withdrawal(sender, recipient)


@external
@nonreentrant
def withdraw(recipient: address, receiver: address):
    """
    @notice Sends the caller's whole bond for `recipient` to `receiver` and clears the request.
    @dev Needs a request whose unlock time has come (`block.timestamp >= unlock_time`: a withdrawal
         in the block stamped exactly `unlock_time` succeeds) or an accepted pair. A pending request
         whose bond was burned to zero may be withdrawn (amount 0) to clear it. The accepted flag stays.
    @param recipient The inbox the bond is for.
    @param receiver Where the tokens go; not the zero address nor this contract (the tokens would
           become sweepable excess).
    """
    self._withdraw(msg.sender, recipient, receiver)


@external
@nonreentrant
def withdraw_with_sig(
    sender: address, recipient: address, receiver: address, deadline: uint256, signature: Bytes[65]
):
    """
    @notice `withdraw` on behalf of `sender`, carried by anyone holding its signature; the tokens go to
            the `receiver` the sender signed, never to the relayer.
    @dev EIP-712 `Withdraw(address sender,address recipient,address receiver,uint256 nonce,uint256 deadline)`.
    @param sender The sender who signed.
    @param recipient The inbox the bond is for.
    @param receiver Where the tokens go; not the zero address nor this contract.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The sender's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        sender,
        deadline,
        signature,
        keccak256(abi_encode(WITHDRAW_TYPEHASH, sender, recipient, receiver, signed_calls.nonces[sender], deadline)),
    )
    self._withdraw(sender, recipient, receiver)


################################################################
#                       OWNER FUNCTIONS                        #
################################################################


@external
def pause():
    """
    @notice Stops new deposits (owner only). Exits keep working.
    """
    ownable._check_owner()
    pausable._pause()


@external
def unpause():
    """
    @notice Allows new deposits again (owner only).
    """
    ownable._check_owner()
    pausable._unpause()


@external
def renounce_ownership():
    """
    @notice Leaves the contract without an owner for good (owner only); refused while paused, so
            deposits can never be frozen forever.
    """
    ownable._check_owner()
    assert not pausable.paused, "deposits: unpause first"
    ownable_2step._transfer_ownership(empty(address))


@external
@nonreentrant
def sweep_excess(receiver: address):
    """
    @notice Sends tokens held beyond all bonds (active + pending), i.e. sent here by mistake, to
            `receiver` (owner only). Bonds can never be swept.
    @param receiver Where the excess goes; not the zero address.
    """
    ownable._check_owner()
    assert receiver != empty(address), "deposits: zero receiver"
    held: uint256 = staticcall IERC20(TOKEN).balanceOf(self)
    owed: uint256 = self._owed_pending & _MAX_AMOUNT
    assert held > owed, "deposits: no excess"
    excess: uint256 = unsafe_sub(held, owed)
    self._push(receiver, excess)
    log ExcessSwept(receiver=receiver, amount=excess)


################################################################
#                            VIEWS                             #
################################################################


@external
@view
def is_eligible(sender: address, recipient: address) -> bool:
    """
    @notice Whether `sender` may reach `recipient`'s inbox: accepted, or min deposit 0, or
            (bond >= min deposit and no withdrawal pending).
    @param sender The would-be sender.
    @param recipient The inbox.
    @return bool True when eligible.
    """
    packed: uint256 = self._bonds[sender][recipient]
    if packed & _ACCEPTED != 0:
        return True
    minimum: uint256 = self.min_deposit[recipient]
    if minimum == 0:
        return True
    return packed & _MAX_AMOUNT >= minimum and packed >> _UNLOCK_SHIFT & _UNLOCK_MASK == 0


@external
@view
def bonds(sender: address, recipient: address) -> Bond:
    """
    @notice The pair's bond: amount, unlock time (0 = no withdrawal pending) and accepted flag.
    @param sender The sender.
    @param recipient The recipient.
    @return Bond The unpacked bond.
    """
    packed: uint256 = self._bonds[sender][recipient]
    return Bond(
        amount=packed & _MAX_AMOUNT,
        unlock_time=packed >> _UNLOCK_SHIFT & _UNLOCK_MASK,
        accepted=packed & _ACCEPTED != 0,
    )


@external
@view
def bond(sender: address, recipient: address) -> uint256:
    """
    @notice The pair's bond amount.
    @param sender The sender.
    @param recipient The recipient.
    @return uint256 The tokens locked.
    """
    return self._bonds[sender][recipient] & _MAX_AMOUNT


@external
@view
def total_pending() -> uint256:
    """
    @notice Tokens in bonds with a withdrawal request outstanding.
    @return uint256 The current total.
    """
    return self._owed_pending >> _HIGH_SHIFT


@external
@view
def total_active() -> uint256:
    """
    @notice Tokens in bonds without a withdrawal request (accepted bonds included).
    @return uint256 The current total.
    """
    totals: uint256 = self._owed_pending
    return (totals & _MAX_AMOUNT) - (totals >> _HIGH_SHIFT)


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@internal
def _set_min_deposit(recipient: address, amount: uint256):
    """
    @dev Records and announces a recipient's price.
    @param recipient The inbox owner (already authenticated).
    @param amount The minimum bond; 0 = open inbox.
    """
    self.min_deposit[recipient] = amount
    log MinDepositSet(recipient=recipient, amount=amount)


@internal
def _request_withdrawal(sender: address, recipient: address):
    """
    @dev Starts the cooldown on the pair's bond.
    @param sender The sender (already authenticated).
    @param recipient The inbox the bond is for.
    """
    packed: uint256 = self._bonds[sender][recipient]
    amount: uint256 = packed & _MAX_AMOUNT
    assert amount != 0, "deposits: no bond"
    assert packed & _ACCEPTED == 0, "deposits: pair accepted"
    assert packed >> _UNLOCK_SHIFT & _UNLOCK_MASK == 0, "deposits: withdrawal pending"
    unlock_time: uint256 = block.timestamp + COOLDOWN
    self._bonds[sender][recipient] = packed | unlock_time << _UNLOCK_SHIFT
    # pending + amount <= owed < 2**128: the high counter cannot overflow.
    self._owed_pending = unsafe_add(self._owed_pending, amount << _HIGH_SHIFT)
    log WithdrawalRequested(sender=sender, recipient=recipient, bond=amount, unlock_time=unlock_time)


@internal
def _withdraw(sender: address, recipient: address, receiver: address):
    """
    @dev Sends the pair's whole bond to `receiver` and clears the request.
    @param sender The sender (already authenticated).
    @param recipient The inbox the bond is for.
    @param receiver Where the tokens go.
    """
    assert receiver != empty(address), "deposits: zero receiver"
    assert receiver != self, "deposits: receiver is this contract"
    packed: uint256 = self._bonds[sender][recipient]
    amount: uint256 = packed & _MAX_AMOUNT
    unlock_time: uint256 = packed >> _UNLOCK_SHIFT & _UNLOCK_MASK
    accepted: uint256 = packed & _ACCEPTED
    if accepted == 0:
        assert unlock_time != 0, "deposits: no withdrawal requested"
        assert block.timestamp >= unlock_time, "deposits: cooldown not over"
    else:
        assert amount != 0 or unlock_time != 0, "deposits: nothing to withdraw"
    self._bonds[sender][recipient] = accepted
    self._owed_pending = self._take_out(amount, unlock_time != 0)
    if amount != 0:
        self._push(receiver, amount)
    log Withdrawn(sender=sender, recipient=recipient, receiver=receiver, amount=amount)


@internal
def _permit(owner: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @dev Tries an EIP-2612 permit for exactly `amount` and accepts its failure when the allowance
         already covers `amount` (anyone can submit a signed permit first; that must not make the
         deposit fail).
    @param owner The token holder who signed the permit.
    @param amount The permit's value.
    @param deadline The permit's deadline.
    @param v The permit signature's `v`.
    @param r The permit signature's `r`.
    @param s The permit signature's `s`.
    """
    permitted: bool = raw_call(
        TOKEN,
        abi_encode(owner, self, amount, deadline, v, r, s, method_id=_PERMIT_SELECTOR),
        revert_on_failure=False,
    )
    if not permitted:
        assert staticcall IERC20(TOKEN).allowance(owner, self) >= amount, "deposits: permit failed"


@internal
def _deposit(
    sender: address,
    recipient: address,
    amount: uint256,
    with_permit: bool,
    deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    """
    @dev A deposit by an authenticated sender, who also pays: books it, tries
         the permit when there is one, pulls the tokens, announces it.
    @param sender The sender (caller or signer).
    @param recipient The inbox the bond is for.
    @param amount The tokens to add.
    @param with_permit Whether to try the EIP-2612 permit `(deadline, v, r, s)`.
    @param deadline The permit's deadline.
    @param v The permit signature's `v`.
    @param r The permit signature's `r`.
    @param s The permit signature's `s`.
    """
    bond: uint256 = self._record_deposit(sender, recipient, amount)
    if with_permit:
        self._permit(sender, amount, deadline, v, r, s)
    self._pull(sender, amount)
    log Deposited(sender=sender, recipient=recipient, payer=sender, amount=amount, bond=bond)


@internal
def _record_deposit(sender: address, recipient: address, amount: uint256) -> uint256:
    """
    @dev Checks a deposit and books it (effects before the token call).
    @param sender The sender (and payer).
    @param recipient The inbox.
    @param amount The tokens to add.
    @return uint256 The pair's bond after the deposit.
    """
    assert not pausable.paused, "deposits: paused"
    assert amount != 0, "deposits: zero amount"
    assert recipient != empty(address), "deposits: zero recipient"
    assert recipient != sender, "deposits: self-deposit"
    packed: uint256 = self._bonds[sender][recipient]
    assert packed & _ACCEPTED == 0, "deposits: pair accepted"
    assert packed >> _UNLOCK_SHIFT & _UNLOCK_MASK == 0, "deposits: withdrawal pending"
    totals: uint256 = self._owed_pending
    assert amount <= _MAX_AMOUNT - (totals & _MAX_AMOUNT), "deposits: amount too large"
    # owed stays below 2**128, and so does every bond (bond <= owed): no carries.
    self._owed_pending = unsafe_add(totals, amount)
    packed = unsafe_add(packed, amount)
    self._bonds[sender][recipient] = packed
    return packed & _MAX_AMOUNT


@internal
def _burn(sender: address, recipient: address, amount: uint256):
    """
    @dev Takes `amount` out of the pair's bond and destroys it.
    @param sender The sender.
    @param recipient The recipient (already authenticated).
    @param amount The tokens to destroy.
    """
    assert amount != 0, "deposits: zero amount"
    packed: uint256 = self._bonds[sender][recipient]
    assert packed & _ACCEPTED == 0, "deposits: pair accepted"
    unlock_time: uint256 = packed >> _UNLOCK_SHIFT & _UNLOCK_MASK
    assert unlock_time == 0 or block.timestamp < unlock_time, "deposits: withdrawal unlocked"
    bond: uint256 = packed & _MAX_AMOUNT
    assert amount <= bond, "deposits: amount exceeds bond"
    self._bonds[sender][recipient] = unsafe_sub(packed, amount)
    self._owed_pending = self._take_out(amount, unlock_time != 0)
    self._destroy(amount)
    log Burned(sender=sender, recipient=recipient, amount=amount, bond=unsafe_sub(bond, amount))


@internal
def _release(sender: address, recipient: address):
    """
    @dev Marks the pair accepted for good.
    @param sender The sender.
    @param recipient The recipient (already authenticated).
    """
    assert sender != empty(address), "deposits: zero sender"
    packed: uint256 = self._bonds[sender][recipient]
    assert packed & _ACCEPTED == 0, "deposits: already accepted"
    self._bonds[sender][recipient] = packed | _ACCEPTED
    log Released(sender=sender, recipient=recipient, bond=packed & _MAX_AMOUNT)


@internal
def _pull(payer: address, amount: uint256):
    """
    @dev Moves `amount` from `payer` in and refuses tokens that deliver less (or more).
    @param payer The holder paying.
    @param amount The tokens owed.
    """
    before: uint256 = staticcall IERC20(TOKEN).balanceOf(self)
    assert extcall IERC20(TOKEN).transferFrom(payer, self, amount, default_return_value=True), "deposits: transfer failed"
    assert staticcall IERC20(TOKEN).balanceOf(self) == before + amount, "deposits: fee-on-transfer token"


@internal
def _push(receiver: address, amount: uint256):
    """
    @dev Sends `amount` to `receiver`; tokens that return nothing count as success.
    @param receiver The receiver.
    @param amount The tokens to send.
    """
    assert extcall IERC20(TOKEN).transfer(receiver, amount, default_return_value=True), "deposits: transfer failed"


@internal
def _destroy(amount: uint256):
    """
    @dev Destroys `amount` of the tokens held: the token's own `burn(uint256)` when it has one
         that burns exactly `amount` from this contract, else a transfer to `DEAD`.
    @dev A token whose `burn` changes the balance by anything but `amount` is refused, so
         "burned" tokens can never stay here and be swept as excess.
    @param amount The tokens to destroy.
    """
    before: uint256 = staticcall IERC20(TOKEN).balanceOf(self)
    burned: bool = raw_call(TOKEN, abi_encode(amount, method_id=_BURN_SELECTOR), revert_on_failure=False)
    if burned:
        after: uint256 = staticcall IERC20(TOKEN).balanceOf(self)
        if after == before - amount:
            return
        assert after == before, "deposits: burn failed"
    self._push(DEAD, amount)


@internal
@view
def _take_out(amount: uint256, pending: bool) -> uint256:
    """
    @dev The live totals after `amount` of one bond left it (burned or withdrawn).
    @dev `amount` <= the bond <= owed, and <= pending when the bond was pending: no borrows.
    @param amount The tokens leaving the bond.
    @param pending Whether the bond had a withdrawal request outstanding.
    @return uint256 The new packed totals.
    """
    totals: uint256 = unsafe_sub(self._owed_pending, amount)
    if pending:
        totals = unsafe_sub(totals, amount << _HIGH_SHIFT)
    return totals
