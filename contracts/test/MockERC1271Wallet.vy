# pragma version 0.4.3
"""
@title Mock ERC-1271 wallet (tests only)
@custom:contract-name MockERC1271Wallet
@license MIT
@notice A contract wallet for tests: it validates signatures made by its owner
        key (ERC-1271), or, when deployed with `rejects` set, refuses every
        signature.
"""


from snekmate.utils.interfaces import IERC1271

implements: IERC1271


from snekmate.utils import ecdsa


# @dev ERC-1271 answer for a valid signature.
_MAGIC_VALUE: constant(bytes4) = 0x1626BA7E
# @dev ERC-1271 answer for an invalid signature.
_INVALID: constant(bytes4) = 0xFFFFFFFF


# @notice The key whose signatures this wallet accepts.
OWNER: public(immutable(address))


# @notice Whether this wallet refuses every signature.
REJECTS: public(immutable(bool))


@deploy
def __init__(owner: address, rejects: bool):
    """
    @param owner The key whose signatures the wallet accepts.
    @param rejects Whether to refuse every signature instead.
    """
    OWNER = owner
    REJECTS = rejects


@external
@view
def isValidSignature(_hash: bytes32, _signature: Bytes[65]) -> bytes4:
    """
    @notice ERC-1271: valid when the owner key signed `_hash` (and the wallet
            does not reject everything).
    @param _hash The digest that was signed.
    @param _signature The owner key's 65-byte signature.
    @return bytes4 0x1626ba7e when valid, 0xffffffff otherwise.
    """
    if REJECTS or len(_signature) != 65:
        return _INVALID
    if ecdsa._recover_sig(_hash, _signature) == OWNER:
        return _MAGIC_VALUE
    return _INVALID

