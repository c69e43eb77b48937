# pragma version 0.4.3
"""
@title dm3 token
@custom:contract-name Dm3Token
@license MIT
@notice ERC-20 with EIP-2612 `permit` and holder burns (`burn`, `burn_from`),
        capped at 100,000,000 tokens (18 decimals). Only the owner mints; ownership
        moves in two steps (`transfer_ownership`, then `accept_ownership` by the new owner).
        Used on devnets and in tests; a production InboxDeposits may point at any ERC-20.
@dev Built on snekmate's `erc20`, which carries its own minter role (`is_minter`, `set_minter`,
     `mint`) and a one-step `transfer_ownership` that moves that role. We export neither: the
     owner (snekmate `ownable_2step`) is the only minter and `mint` here checks the owner and the
     cap. The minter role stays dead state inside `erc20`: its constructor marks the deployer
     (the deterministic-deployment proxy, when deployed through it) and logs `RoleMinterChanged`;
     our constructor takes that mark back at once, so no address is ever a minter of record.
     The cap bounds `totalSupply`: burned tokens free room that the owner may mint again
     (OpenZeppelin `ERC20Capped` semantics).
"""


################################################################
#                          INTERFACES                          #
################################################################


from ethereum.ercs import IERC20
implements: IERC20


from ethereum.ercs import IERC20Detailed
implements: IERC20Detailed


################################################################
#                           MODULES                            #
################################################################


# @dev The owner, the only minter, moved in two steps.
from snekmate.auth import ownable
initializes: ownable


from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]


# @dev ERC-20 with EIP-2612 permit, burns and the EIP-712 domain "dm3", version "1".
from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]


################################################################
#                           EXPORTS                            #
################################################################


exports: (
    # ERC-20 and metadata.
    erc20.transfer,
    erc20.approve,
    erc20.transferFrom,
    erc20.balanceOf,
    erc20.allowance,
    erc20.totalSupply,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    # Holder burns.
    erc20.burn,
    erc20.burn_from,
    # EIP-2612 signed approvals: the holder's next nonce, the domain
    # separator and its EIP-5267 description.
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    # Two-step ownership (the owner is the only minter).
    ownable.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    ownable_2step.renounce_ownership,
)


################################################################
#                          CONSTANTS                           #
################################################################


# @notice The most tokens that can exist at once: 100,000,000 with 18 decimals.
CAP: public(constant(uint256)) = 100_000_000 * 10**18


################################################################
#                         CONSTRUCTOR                          #
################################################################


@deploy
def __init__(owner: address):
    """
    @notice Deploys the token with no supply, owned by `owner`.
    @dev The deployer gets nothing: ownership moves from it to `owner` inside the constructor
         (`OwnershipTransferred` is logged twice: to the deployer, then to `owner`), and the
         minter mark snekmate's `erc20` gives the deployer is cleared. So the address does not
         depend on who deploys it (the deterministic-deployment proxy, CREATE2), only on `owner`.
         Reverts with "token: zero owner" when `owner` is the zero address.
         EIP-712 domain for `permit`: name "dm3", version "1".
    @param owner The owner: the only account that can mint.
    """
    assert owner != empty(address), "token: zero owner"
    ownable.__init__()
    ownable_2step.__init__()
    erc20.__init__("dm3", "DM3", 18, "dm3", "1")
    erc20.is_minter[msg.sender] = False
    log erc20.RoleMinterChanged(minter=msg.sender, status=False)
    ownable_2step._transfer_ownership(owner)


################################################################
#                       OWNER FUNCTIONS                        #
################################################################


@external
def mint(to: address, amount: uint256):
    """
    @notice Creates `amount` tokens for `to`.
    @dev Only the owner; reverts with "token: cap exceeded" when the supply would pass `CAP`.
    @param to The receiver; not the zero address.
    @param amount The amount to create, in the token's smallest unit.
    """
    ownable._check_owner()
    # `totalSupply <= CAP` always holds, so the subtraction cannot underflow.
    assert amount <= unsafe_sub(CAP, erc20.totalSupply), "token: cap exceeded"
    erc20._mint(to, amount)
