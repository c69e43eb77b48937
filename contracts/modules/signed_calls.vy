# pragma version 0.4.3
"""
@title Signed calls
@custom:contract-name signed_calls
@license MIT
@notice EIP-712 signed writes: the per-signer nonces, the domain separator and
        the one check that every signed function of a dm3 contract goes
        through, so that a relayer can carry a write that its signer authorised
        and nothing else.
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
       using contract's domain ("<prefix>: invalid signature").
     A successful check spends the signer's nonce; a failed one reverts the
     whole call, so a nonce is only ever spent by a write that happened.

     ECDSA first, ERC-1271 second (OpenZeppelin `SignatureChecker` 4.9/5.0
     order). A signature whose ECDSA recovery (low `s` only, as snekmate's)
     gives the signer is accepted without looking at the signer's code: this
     saves the cold account access (2,600 gas) that snekmate's
     `signature_checker` spends on `EXTCODESIZE` before every EOA signature.
     Anything else goes through snekmate's `signature_checker` unchanged:
     `isValidSignature` for a signer with code, and for an account without
     code snekmate's ECDSA recovery, whose own revert reasons
     ("ecdsa: invalid signature", "ecdsa: invalid signature `s` value") a
     malformed signature gets, exactly as before. The only signers this order
     treats differently are accounts that have code AND a private key
     (EIP-7702 delegated EOAs): their key's signature is accepted, as it is by
     the account itself. A contract deployed by CREATE or CREATE2 has no key.

     The using contract initialises `eip712_domain_separator` with its own
     name and version, passes its revert-reason prefix to `__init__` and
     exports `nonces` and `DOMAIN_SEPARATOR`.
"""


################################################################
#                           MODULES                            #
################################################################


from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator
from snekmate.utils import signature_checker

uses: eip712_domain_separator


################################################################
#                          IMMUTABLES                          #
################################################################


# @dev The revert-reason prefix of the using contract, e.g. "registry".
_PREFIX: immutable(String[16])


################################################################
#                           STORAGE                            #
################################################################


# @notice The next EIP-712 nonce of each signer.
nonces: public(HashMap[address, uint256])


################################################################
#                         CONSTRUCTOR                          #
################################################################


@deploy
def __init__(prefix: String[16]):
    """
    @dev Sets the prefix of every revert reason this module raises.
    @param prefix The using contract's revert-reason prefix, without the colon.
    """
    _PREFIX = prefix


################################################################
#                            VIEWS                             #
################################################################


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    """
    @notice The EIP-712 domain separator of the contract's signed writes.
    @return bytes32 The separator for the current chain.
    """
    return eip712_domain_separator._domain_separator_v4()


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


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
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(struct_hash)
    if self._recovered(digest, signature, length) != signer:
        # Not the signer's key: an ERC-1271 wallet, or a bad signature.
        valid: bool = signature_checker._is_valid_signature_now(signer, digest, signature)
        assert valid, concat(_PREFIX, ": invalid signature")
    self.nonces[signer] = unsafe_add(self.nonces[signer], 1)


@internal
@pure
def _recovered(digest: bytes32, signature: Bytes[65], length: uint256) -> address:
    """
    @dev The ECDSA signer of `digest`, or the zero address when `signature`
         does not recover: snekmate's `ecdsa._recover_sig` (65 bytes `r s v`,
         64 bytes EIP-2098 `r vs`, `s` at most half the curve order) without
         its reverts, so that an ERC-1271 signature can still be tried after it.
    @param digest The EIP-712 digest.
    @param signature The signature, 64 or 65 bytes (checked by the caller).
    @param length The signature's length.
    @return address The recovered signer; zero when there is none.
    """
    r: uint256 = extract32(signature, 0, output_type=uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    v: uint256 = 0
    if length == 65:
        v = convert(slice(signature, 64, 1), uint256)
    else:
        v = unsafe_add(s >> 255, 27)
        s = s & convert(max_value(int256), uint256)
    if s > ecdsa._MALLEABILITY_THRESHOLD:
        return empty(address)
    return ecrecover(digest, v, r, s)
