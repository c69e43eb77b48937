# pragma version 0.4.3
"""
@title Strict RLP decoding of Merkle-Patricia trie nodes
@custom:contract-name rlp
@license MIT
@notice Decodes the headers and the items of one RLP list (a trie node, an
        account) inside a bounded byte string, refusing anything a canonical
        encoder (geth, reth, py-rlp) would not produce: a single byte below 0x80
        wrapped in a string header, a long-form length under 56, a length with
        leading zero bytes, an item running past its list or the input, and
        bytes after the list.
@dev Stateless (no storage, no `initializes` needed). Reverts with reasons
     starting "rlp: ". Items are returned as offsets into the caller's buffer,
     never copied.
"""


# @notice Maximum length of one decoded node: a branch node whose sixteen children are
# all hashes is 3 + 16 * 33 + 1 = 532 bytes; a little room for a branch value.
MAX_NODE_LENGTH: constant(uint256) = 600


# @notice Maximum number of items in one list (a branch node has 17).
MAX_ITEMS: constant(uint256) = 17


# @dev One RLP item inside a buffer: `start` is its header's first byte,
# `offset`/`length` its payload, `is_list` whether it is a list.
struct Item:
    start: uint256
    offset: uint256
    length: uint256
    is_list: bool


@internal
@pure
def _read(data: Bytes[MAX_NODE_LENGTH], position: uint256, count: uint256) -> uint256:
    """
    @dev The `count` (at most 32) bytes at `position` as a big-endian integer; the
         caller has checked `position + count <= len(data)`.
    """
    if count == 0:
        return 0
    word: uint256 = 0
    if position + 32 <= len(data):
        word = extract32(data, position, output_type=uint256)
    else:
        word = extract32(concat(data, empty(bytes32)), position, output_type=uint256)
    return word >> (8 * (32 - count))


@internal
@pure
def _item(data: Bytes[MAX_NODE_LENGTH], start: uint256, end: uint256) -> Item:
    """
    @dev Decodes the header of the item at `start`; the item must end at or before `end`.
         Reverts with "rlp: truncated" when the header or the payload passes `end`
         and "rlp: non-canonical" for an encoding a canonical encoder never makes.
    @param data The buffer.
    @param start The item's first byte.
    @param end The first byte after the region the item must fit in (at most `len(data)`).
    @return Item The item's header position, payload and kind.
    """
    assert start < end, "rlp: truncated"
    prefix: uint256 = convert(slice(data, start, 1), uint256)
    if prefix < 128:
        return Item(start=start, offset=start, length=1, is_list=False)
    is_list: bool = prefix >= 192
    short_base: uint256 = 128
    if is_list:
        short_base = 192
    offset: uint256 = 0
    length: uint256 = 0
    if prefix < short_base + 56:
        length = prefix - short_base
        offset = start + 1
        if not is_list and length == 1:
            assert offset < end, "rlp: truncated"
            assert convert(slice(data, offset, 1), uint256) >= 128, "rlp: non-canonical"
    else:
        length_of_length: uint256 = prefix - short_base - 55
        # At most 8 length bytes (0xbf / 0xff); any length over the buffer fails below.
        assert start + 1 + length_of_length <= end, "rlp: truncated"
        assert convert(slice(data, start + 1, 1), uint256) != 0, "rlp: non-canonical"
        length = self._read(data, start + 1, length_of_length)
        assert length >= 56, "rlp: non-canonical"
        offset = start + 1 + length_of_length
    assert length <= end and offset <= end - length, "rlp: truncated"
    return Item(start=start, offset=offset, length=length, is_list=is_list)


@internal
@pure
def _list(data: Bytes[MAX_NODE_LENGTH], start: uint256, end: uint256) -> DynArray[Item, MAX_ITEMS]:
    """
    @dev Decodes the list spanning exactly `data[start:end]` into its items.
         Reverts with "rlp: not a list", "rlp: trailing bytes" when the list ends
         before `end`, "rlp: too many items", or a reason of `_item`.
    @param data The buffer.
    @param start The list's first byte.
    @param end The first byte after the list.
    @return DynArray The list's items, in order.
    """
    head: Item = self._item(data, start, end)
    assert head.is_list, "rlp: not a list"
    list_end: uint256 = head.offset + head.length
    assert list_end == end, "rlp: trailing bytes"
    items: DynArray[Item, MAX_ITEMS] = []
    position: uint256 = head.offset
    for i: uint256 in range(MAX_ITEMS + 1):
        if position == list_end:
            break
        assert i < MAX_ITEMS, "rlp: too many items"
        # Fast paths for a branch node's children: the empty string and a 32-byte hash.
        prefix: uint256 = convert(slice(data, position, 1), uint256)
        if prefix == 128:
            items.append(Item(start=position, offset=position + 1, length=0, is_list=False))
            position += 1
        elif prefix == 160:
            assert position + 33 <= list_end, "rlp: truncated"
            items.append(Item(start=position, offset=position + 1, length=32, is_list=False))
            position += 33
        else:
            item: Item = self._item(data, position, list_end)
            items.append(item)
            position = item.offset + item.length
    return items


@internal
@pure
def _uint(data: Bytes[MAX_NODE_LENGTH], item: Item) -> uint256:
    """
    @dev An RLP-encoded unsigned integer: a string of at most 32 bytes without a
         leading zero byte. Reverts with "rlp: not an integer" otherwise.
    @param data The buffer.
    @param item The item.
    @return uint256 The integer.
    """
    assert not item.is_list and item.length <= 32, "rlp: not an integer"
    if item.length == 0:
        return 0
    assert convert(slice(data, item.offset, 1), uint256) != 0, "rlp: not an integer"
    return self._read(data, item.offset, item.length)


@internal
@pure
def _bytes32(data: Bytes[MAX_NODE_LENGTH], item: Item) -> bytes32:
    """
    @dev A 32-byte string (a hash). Reverts with "rlp: not a hash" otherwise.
    @param data The buffer.
    @param item The item.
    @return bytes32 The 32 bytes.
    """
    assert not item.is_list and item.length == 32, "rlp: not a hash"
    return extract32(data, item.offset)
