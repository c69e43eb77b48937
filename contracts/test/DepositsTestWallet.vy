# pragma version 0.4.3
"""
@title ERC-1271 wallet (test only)
@custom:contract-name DepositsTestWallet
@license MIT
@notice A contract account that approves exactly the digests its owner key signed (EIP-1271),
        to test InboxDeposits' signed burns and releases for smart-contract recipients.
"""


from snekmate.utils import ecdsa


# @dev The EIP-1271 magic value.
MAGIC_VALUE: constant(bytes4) = 0x1626BA7E


# @dev The key whose signatures the wallet accepts.
OWNER: public(immutable(address))


@deploy
def __init__(owner: address):
    """
    @notice Sets the signing key.
    @param owner The address whose ECDSA signatures count as the wallet's.
    """
    OWNER = owner


@external
@view
def isValidSignature(hash: bytes32, signature: Bytes[65]) -> bytes4:
    """
    @notice EIP-1271: the magic value when `signature` is the owner's over `hash`, else zero.
    @param hash The signed digest.
    @param signature A 65-byte ECDSA signature.
    @return bytes4 0x1626ba7e when valid, 0x00000000 otherwise.
    """
    if len(signature) == 65 and ecdsa._recover_sig(hash, signature) == OWNER:
        return MAGIC_VALUE
    return empty(bytes4)
