# pragma version 0.4.3
"""
@title Merkle-Patricia proof verification (Ethereum's secure tries)
@custom:contract-name mpt
@license MIT
@notice Verifies `eth_getProof` proofs: an account against a state root (key
        `keccak256(address)`) and a storage slot against an account's storage
        root (key `keccak256(slot)`). A proof is the list of RLP-encoded nodes on
        the key's path, root first; a node embedded in its parent (its encoding
        shorter than 32 bytes) is not listed separately, it is read in place, as
        geth and reth produce proofs.

        Inclusion: the path ends in a leaf whose remaining path is the rest of the
        key; its value is returned. Exclusion (a valid proof that the key is not in
        the trie): the path ends at an empty branch child, or at a leaf or an
        extension whose path diverges from the key; an empty trie (root
        `keccak256(0x80)`) with an empty proof proves every key absent.
@dev Stateless. Keys are 32 bytes (64 nibbles), so a branch never carries a value
     and every leaf ends at nibble 64. Reverts with reasons starting "mpt: " (or
     "rlp: " for a node that is not canonical RLP):
     "mpt: proof too short", "mpt: trailing proof nodes", "mpt: wrong node hash",
     "mpt: invalid node" (neither 2 nor 17 items), "mpt: branch with a value",
     "mpt: invalid branch child", "mpt: invalid inline node", "mpt: invalid path",
     "mpt: invalid hex-prefix", "mpt: path too long", "mpt: invalid leaf path",
     "mpt: empty extension", "mpt: extension without a branch",
     "mpt: invalid leaf value", "mpt: invalid account", "mpt: invalid storage value".
"""


from . import rlp


# @notice Maximum number of nodes in one proof (mainnet state proofs have 8-10).
MAX_PROOF_NODES: constant(uint256) = 16


# @notice `keccak256(rlp(""))`: the root of an empty trie (an account without storage).
EMPTY_TRIE_ROOT: constant(bytes32) = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421


# @dev Each step consumes at least one nibble of the 64 or ends at a leaf.
_MAX_STEPS: constant(uint256) = 65


@internal
@pure
def _verify(
    root: bytes32, path: bytes32, proof: DynArray[Bytes[rlp.MAX_NODE_LENGTH], MAX_PROOF_NODES]
) -> (bool, Bytes[rlp.MAX_NODE_LENGTH]):
    """
    @dev Walks `proof` from `root` along the 64 nibbles of `path`.
    @param root The trie's root hash.
    @param path The key's path (already hashed: `keccak256(key)`).
    @param proof The nodes on the path, root first.
    @return bool Whether the key is in the trie.
    @return Bytes The leaf's value (its RLP string payload); empty when absent.
    """
    if len(proof) == 0:
        assert root == EMPTY_TRIE_ROOT, "mpt: proof too short"
        return False, b""
    key: uint256 = convert(path, uint256)
    depth: uint256 = 0
    expected: bytes32 = root
    node: Bytes[rlp.MAX_NODE_LENGTH] = b""
    start: uint256 = 0
    end: uint256 = 0
    index: uint256 = 0
    inline: bool = False
    after_extension: bool = False
    for step: uint256 in range(_MAX_STEPS):
        if not inline:
            assert index < len(proof), "mpt: proof too short"
            node = proof[index]
            index += 1
            assert keccak256(node) == expected, "mpt: wrong node hash"
            start = 0
            end = len(node)
            if index == 1 and root == EMPTY_TRIE_ROOT:
                # The empty trie's one "node" is the empty string 0x80.
                assert index == len(proof), "mpt: trailing proof nodes"
                return False, b""
        items: DynArray[rlp.Item, rlp.MAX_ITEMS] = rlp._list(node, start, end)
        child: rlp.Item = empty(rlp.Item)
        if len(items) == 17:
            assert not items[16].is_list and items[16].length == 0, "mpt: branch with a value"
            assert depth < 64, "mpt: path too long"
            child = items[(key >> (252 - 4 * depth)) & 15]
            depth += 1
            after_extension = False
            if not child.is_list and child.length == 0:
                assert index == len(proof), "mpt: trailing proof nodes"
                return False, b""
        elif len(items) == 2:
            assert not after_extension, "mpt: extension without a branch"
            encoded: rlp.Item = items[0]
            assert not encoded.is_list and encoded.length != 0, "mpt: invalid path"
            first: uint256 = convert(slice(node, encoded.offset, 1), uint256)
            flag: uint256 = first >> 4
            assert flag < 4, "mpt: invalid hex-prefix"
            odd: bool = flag & 1 == 1
            nibbles: uint256 = 2 * (encoded.length - 1)
            value: uint256 = 0
            if odd:
                nibbles += 1
                value = first & 15
            else:
                assert first & 15 == 0, "mpt: invalid hex-prefix"
            assert nibbles <= 64 - depth, "mpt: path too long"
            if encoded.length > 1:
                rest: uint256 = rlp._read(node, encoded.offset + 1, encoded.length - 1)
                value = (value << (8 * (encoded.length - 1))) | rest
            # The key's next `nibbles` nibbles (a shift by 256 yields 0).
            matches: bool = (key << (4 * depth)) >> (256 - 4 * nibbles) == value
            if flag >= 2:
                assert depth + nibbles == 64, "mpt: invalid leaf path"
                assert index == len(proof), "mpt: trailing proof nodes"
                if not matches:
                    return False, b""
                leaf_value: rlp.Item = items[1]
                assert not leaf_value.is_list and leaf_value.length != 0, "mpt: invalid leaf value"
                return True, slice(node, leaf_value.offset, leaf_value.length)
            assert nibbles != 0, "mpt: empty extension"
            assert depth + nibbles < 64, "mpt: path too long"
            if not matches:
                assert index == len(proof), "mpt: trailing proof nodes"
                return False, b""
            depth += nibbles
            after_extension = True
            child = items[1]
        else:
            raise "mpt: invalid node"
        if child.is_list:
            child_end: uint256 = child.offset + child.length
            assert child_end - child.start < 32, "mpt: invalid inline node"
            start = child.start
            end = child_end
            inline = True
        else:
            assert child.length == 32, "mpt: invalid branch child"
            expected = extract32(node, child.offset)
            inline = False
    raise "mpt: path too long"


@internal
@pure
def _verify_account(
    state_root: bytes32, account: address, proof: DynArray[Bytes[rlp.MAX_NODE_LENGTH], MAX_PROOF_NODES]
) -> (bool, uint256, uint256, bytes32, bytes32):
    """
    @dev Verifies an account proof (`eth_getProof`'s `accountProof`).
    @param state_root The block's state root.
    @param account The account.
    @param proof The account proof.
    @return bool Whether the account exists.
    @return uint256 Its nonce (0 when absent).
    @return uint256 Its balance (0 when absent).
    @return bytes32 Its storage root (the empty trie's root when absent).
    @return bytes32 Its code hash (zero when absent).
    """
    exists: bool = False
    value: Bytes[rlp.MAX_NODE_LENGTH] = b""
    exists, value = self._verify(state_root, keccak256(concat(convert(account, bytes20), b"")), proof)
    if not exists:
        return False, 0, 0, EMPTY_TRIE_ROOT, empty(bytes32)
    items: DynArray[rlp.Item, rlp.MAX_ITEMS] = rlp._list(value, 0, len(value))
    assert len(items) == 4, "mpt: invalid account"
    return (
        True,
        rlp._uint(value, items[0]),
        rlp._uint(value, items[1]),
        rlp._bytes32(value, items[2]),
        rlp._bytes32(value, items[3]),
    )


@internal
@pure
def _verify_storage(
    storage_root: bytes32, slot: uint256, proof: DynArray[Bytes[rlp.MAX_NODE_LENGTH], MAX_PROOF_NODES]
) -> uint256:
    """
    @dev Verifies a storage proof (one of `eth_getProof`'s `storageProof[i].proof`).
    @param storage_root The account's storage root.
    @param slot The storage slot.
    @param proof The storage proof.
    @return uint256 The slot's value; 0 for a valid proof of absence.
    """
    exists: bool = False
    value: Bytes[rlp.MAX_NODE_LENGTH] = b""
    exists, value = self._verify(storage_root, keccak256(convert(slot, bytes32)), proof)
    if not exists:
        return 0
    item: rlp.Item = rlp._item(value, 0, len(value))
    assert item.offset + item.length == len(value), "mpt: invalid storage value"
    assert not item.is_list, "mpt: invalid storage value"
    # A zero value (0x80) is never stored by geth or reth, but anvil keeps a slot written
    # with zero as a leaf: it proves the value zero all the same.
    return rlp._uint(value, item)
