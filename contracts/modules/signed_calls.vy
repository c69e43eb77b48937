# pragma version 0.4.3
"""
@title Signed calls
@custom:contract-name signed_calls
@license MIT
@notice EIP-712 signed writes: the per-signer nonces and the one check that
        every signed function of a dm3 contract goes through, so that a relayer
        can carry a write that its signer authorised and nothing else.
@dev The check refuses, in this order:
     - the zero address as signer ("<prefix>: zero signer"). snekmate's
       `ecdsa._recover_sig` returns the zero address for a signature that is
       not 64 or 65 bytes, and `signature_checker` compares the recovered
       address with the claimed signer: without this rule an empty signature
       "proves" that the zero address signed anything;
     - a signature that is not 64 (EIP-2098) or 65 bytes long
       ("<prefix>: invalid signature length"), ERC-1271 wallets included;
     - an expired deadline ("<prefix>: signature expired"; valid up to and
       including the deadline's second);
     - a signature that is not the signer's over the EIP-712 digest in the
       using contract's domain ("<prefix>: invalid signature"): ECDSA for an
       account without code, ERC-1271 `isValidSignature` for a contract.
     A successful check spends the signer's nonce; a failed one reverts the
     whole call, so a nonce is only ever spent by a write that happened.
     The using contract initialises `eip712_domain_separator` with its own
     name and version and passes its revert-reason prefix to `__init__`.
"""


from snekmate.utils import eip712_domain_separator
from snekmate.utils import signature_checker

uses: eip712_domain_separator


# @dev The revert-reason prefix of the using contract, e.g. "registry".
_PREFIX: immutable(String[16])


# @notice The next EIP-712 nonce of each signer.
nonces: public(HashMap[address, uint256])


@deploy
def __init__(prefix: String[16]):
    """
    @dev Sets the prefix of every revert reason this module raises.
    @param prefix The using contract's revert-reason prefix, without the colon.
    """
    _PREFIX = prefix


@internal
def _use_signature(signer: address, deadline: uint256, signature: Bytes[65], struct_hash: bytes32):
    """
    @dev Reverts unless `signature` is `signer`'s valid, unexpired EIP-712
         signature of `struct_hash`, then spends `signer`'s nonce. The caller
         builds `struct_hash` with `nonces[signer]` as the nonce field.
    @param signer The claimed signer; never the zero address.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The 64/65-byte ECDSA or ERC-1271 signature.
    @param struct_hash The EIP-712 hashStruct of the request.
    """
    assert signer != empty(address), concat(_PREFIX, ": zero signer")
    length: uint256 = len(signature)
    assert length == 64 or length == 65, concat(_PREFIX, ": invalid signature length")
    assert block.timestamp <= deadline, concat(_PREFIX, ": signature expired")
    assert signature_checker._is_valid_signature_now(
        signer, eip712_domain_separator._hash_typed_data_v4(struct_hash), signature
    ), concat(_PREFIX, ": invalid signature")
    self.nonces[signer] = unsafe_add(self.nonces[signer], 1)
