# pragma version 0.4.3
"""
@title ENS name utilities
@custom:contract-name ens_names
@license MIT
@notice Labels, namehashes, address-name labels and ENSIP-11/19 coin types, computed on-chain
        exactly as ENS clients compute them off-chain.
@dev A label is accepted only when it is its own ENSIP-15 normalisation in the narrow form dm3
     names use: 1-63 bytes of a-z, 0-9 and inner hyphens, never hyphens as both third and
     fourth byte. The using contract passes its revert-reason prefix to `__init__`.
"""


################################################################
#                          CONSTANTS                           #
################################################################


# @notice ENSIP-9 coin type of Ethereum.
COIN_TYPE_ETH: constant(uint256) = 60


# @notice ENSIP-19 default EVM coin type (chain id 0).
COIN_TYPE_DEFAULT: constant(uint256) = 2**31


# @dev The longest label: 63 bytes, the DNS label limit (RFC 1035), which ENS
# names must respect to be DNS-encodable (the CCIP-read `resolve(name, data)`
# takes DNS-encoded names).
_MAX_LABEL_LENGTH: constant(uint256) = 63


# @dev The lowest bit of every 128/64/32/16/8-bit lane of a word, and the
# masks of the low `s` bits of every `4s`-bit lane, used to spread a number to
# one nibble per byte (see `_hex_chars`).
_LANES_128: constant(uint256) = 1 + 2**128
_LANES_64: constant(uint256) = _LANES_128 * (1 + 2**64)
_LANES_32: constant(uint256) = _LANES_64 * (1 + 2**32)
_LANES_16: constant(uint256) = _LANES_32 * (1 + 2**16)
_EVERY_BYTE: constant(uint256) = _LANES_16 * (1 + 2**8)
_LOW_64_OF_256: constant(uint256) = 2**64 - 1
_LOW_32_OF_128: constant(uint256) = (2**32 - 1) * _LANES_128
_LOW_16_OF_64: constant(uint256) = (2**16 - 1) * _LANES_64
_LOW_8_OF_32: constant(uint256) = (2**8 - 1) * _LANES_32
_LOW_4_OF_16: constant(uint256) = (2**4 - 1) * _LANES_16


################################################################
#                          IMMUTABLES                          #
################################################################


# @dev The revert-reason prefix of the using contract, e.g. "registry".
_PREFIX: immutable(String[16])


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
#                      INTERNAL FUNCTIONS                      #
################################################################


@internal
@view
def _check_label(label: Bytes[255]):
    """
    @dev Reverts unless `label` is 1-63 bytes of a-z, 0-9 and hyphens, with no
         hyphen first or last and not hyphens as both third and fourth byte
         (ENSIP-15 refuses those, as UTS-46 does, so ENS clients could not
         resolve such a name). Every label passing this check is its own
         ENSIP-15 normalisation. Reads the label 32 bytes at a time and walks
         the bytes by shifting, which is cheaper than slicing each byte.
    @param label The label.
    """
    length: uint256 = len(label)
    assert length != 0, concat(_PREFIX, ": empty label")
    assert length <= _MAX_LABEL_LENGTH, concat(_PREFIX, ": label too long")
    padded: Bytes[319] = concat(label, empty(bytes32), empty(bytes32))
    word: uint256 = extract32(padded, 0, output_type=uint256)
    previous: uint256 = 0
    for i: uint256 in range(length, bound=_MAX_LABEL_LENGTH):
        if i == 32:
            word = extract32(padded, 32, output_type=uint256)
        char: uint256 = word >> 248
        word = word << 8
        if char == 45:  # "-"
            assert i != 0 and i != length - 1, concat(_PREFIX, ": hyphen at label edge")
            assert i != 3 or previous != 45, concat(_PREFIX, ": hyphens at label positions 3-4")
        else:
            assert (char >= 97 and char <= 122) or (char >= 48 and char <= 57), concat(_PREFIX, ": invalid character")
        previous = char


@internal
@view
def _namehash(name: String[255]) -> bytes32:
    """
    @dev The ENS namehash of a dotted name whose labels pass `_check_label`.
    @param name The name, e.g. "op.dm3.eth".
    @return bytes32 The namehash.
    """
    data: Bytes[255] = convert(name, Bytes[255])
    length: uint256 = len(data)
    node: bytes32 = empty(bytes32)
    end: uint256 = length
    for j: uint256 in range(length, bound=255):
        i: uint256 = length - 1 - j
        if convert(slice(data, i, 1), bytes1) == 0x2E:  # "."
            label: Bytes[255] = slice(data, i + 1, end - i - 1)
            self._check_label(label)
            node = keccak256(concat(node, keccak256(label)))
            end = i
    label: Bytes[255] = slice(data, 0, end)
    self._check_label(label)
    return keccak256(concat(node, keccak256(label)))


@internal
@pure
def _hex_label(account: address) -> Bytes[40]:
    """
    @dev The 40 lowercase hex digits of `account`, the label of its address
         name. Computed with word arithmetic instead of a 40-step loop.
    @param account The account.
    @return Bytes The label.
    """
    number: uint256 = convert(account, uint256)
    high: uint256 = self._hex_chars(number >> 32)
    low: uint256 = self._hex_chars(number & convert(max_value(uint32), uint256))
    return concat(convert(high, bytes32), slice(convert(low << 192, bytes32), 0, 8))


@internal
@pure
def _hex_chars(number: uint256) -> uint256:
    """
    @dev Turns a number below 2**128 into its 32 lowercase hex digits, one
         ASCII character per byte, most significant first: spread the nibbles
         one per byte, then add "0" to each and the gap from "9" to "a" to
         those above 9.
    @param number The number, below 2**128.
    @return uint256 The 32 ASCII characters as one word.
    """
    # Each step moves the upper half of every lane's data up by `s`, into
    # the next quarter of a lane twice as wide.
    x: uint256 = number
    x = ((x << 64) & (_LOW_64_OF_256 << 128)) | (x & _LOW_64_OF_256)
    x = ((x << 32) & (_LOW_32_OF_128 << 64)) | (x & _LOW_32_OF_128)
    x = ((x << 16) & (_LOW_16_OF_64 << 32)) | (x & _LOW_16_OF_64)
    x = ((x << 8) & (_LOW_8_OF_32 << 16)) | (x & _LOW_8_OF_32)
    x = ((x << 4) & (_LOW_4_OF_16 << 8)) | (x & _LOW_4_OF_16)
    # A byte holding 10-15 carries into bit 4 when 6 is added.
    letters: uint256 = (unsafe_add(x, unsafe_mul(_EVERY_BYTE, 6)) >> 4) & _EVERY_BYTE
    return unsafe_add(unsafe_add(x, unsafe_mul(_EVERY_BYTE, 48)), unsafe_mul(letters, 39))


@internal
@pure
def _evm_chain(coin_type: uint256) -> uint256:
    """
    @dev ENSIP-19 `chainFromCoinType`: 1 for coin type 60, the chain id for
         0x80000000 | chain id (0 for the default coin type itself), else 0.
    @param coin_type The coin type.
    @return uint256 The chain id, or 0 for a non-EVM coin type.
    """
    if coin_type == COIN_TYPE_ETH:
        return 1
    chain_id: uint256 = coin_type ^ COIN_TYPE_DEFAULT
    if chain_id < COIN_TYPE_DEFAULT:
        return chain_id
    return 0


@internal
@pure
def _is_evm_coin_type(coin_type: uint256) -> bool:
    """
    @dev ENSIP-19 `isEVMCoinType`: the default coin type or an EVM chain's.
    @param coin_type The coin type.
    @return bool Whether addresses of this coin type are 20-byte EVM addresses.
    """
    return coin_type == COIN_TYPE_DEFAULT or self._evm_chain(coin_type) != 0
