# pragma version 0.4.3
"""
@title Blob-signature wallet (tests only)
@custom:contract-name BlobWallet
@license MIT
@notice An ERC-1271 wallet whose signatures are not ECDSA signatures at all (as
        a multisig's or a passkey wallet's are not): it accepts exactly the
        signature bytes it was deployed with, for any digest.
"""


from snekmate.utils.interfaces import IERC1271

implements: IERC1271


# @dev ERC-1271 answer for a valid signature.
_MAGIC_VALUE: constant(bytes4) = 0x1626BA7E
# @dev ERC-1271 answer for an invalid signature.
_INVALID: constant(bytes4) = 0xFFFFFFFF


# @notice The one signature this wallet accepts.
BLOB: public(immutable(Bytes[65]))


@deploy
def __init__(blob: Bytes[65]):
    """
    @param blob The signature bytes the wallet accepts.
    """
    BLOB = blob


@external
@view
def isValidSignature(_hash: bytes32, _signature: Bytes[65]) -> bytes4:
    """
    @notice ERC-1271: valid when `_signature` is the wallet's blob.
    @param _hash The digest (ignored).
    @param _signature The signature.
    @return bytes4 0x1626ba7e when valid, 0xffffffff otherwise.
    """
    if keccak256(_signature) == keccak256(BLOB):
        return _MAGIC_VALUE
    return _INVALID
