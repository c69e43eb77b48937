# pragma version 0.4.3
"""
@title Plain snekmate ERC-20 (test only)
@custom:contract-name PlainERC20
@license MIT
@notice snekmate's `erc20` with nothing added or removed: the gas baseline for `Dm3Token` and
        a well-behaved token for tests. The deployer may mint without limit.
"""


from snekmate.auth import ownable
initializes: ownable


from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]


exports: erc20.__interface__


@deploy
def __init__():
    """
    @notice Deploys the token; the deployer is owner and minter.
    """
    ownable.__init__()
    erc20.__init__("Plain", "PLAIN", 18, "Plain", "1")
