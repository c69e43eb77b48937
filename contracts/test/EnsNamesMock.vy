# pragma version 0.4.3
"""
@title ENS name utilities, exposed for tests
@custom:contract-name EnsNamesMock
@license MIT
@notice Test-only: external wrappers around `modules/ens_names.vy`.
"""


from ..modules import ens_names

initializes: ens_names


@deploy
def __init__():
    """
    @dev Reverts with the prefix "names".
    """
    ens_names.__init__("names")


@external
@view
def check_label(label: Bytes[255]):
    """
    @notice Reverts unless `label` is an acceptable label.
    @param label The label.
    """
    ens_names._check_label(label)


@external
@view
def namehash(name: String[255]) -> bytes32:
    """
    @notice The ENS namehash of `name`.
    @param name The dotted name.
    @return bytes32 The namehash.
    """
    return ens_names._namehash(name)


@external
@pure
def hex_label(account: address) -> Bytes[40]:
    """
    @notice The 40 lowercase hex digits of `account`.
    @param account The account.
    @return Bytes The label.
    """
    return ens_names._hex_label(account)


@external
@pure
def evm_chain(coin_type: uint256) -> uint256:
    """
    @notice ENSIP-19 `chainFromCoinType`.
    @param coin_type The coin type.
    @return uint256 The chain id, or 0.
    """
    return ens_names._evm_chain(coin_type)
