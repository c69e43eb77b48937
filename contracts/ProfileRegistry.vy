# pragma version 0.4.3
"""
@title dm3 ProfileRegistry
@custom:contract-name ProfileRegistry
@license MIT
@notice An ENS-compatible subname registry and resolver for one parent name
        (e.g. `op.dm3.eth`), deployed once per L2. It holds:
        - names `<label>.<parent>`, registered first come, first served;
        - address names `<40 lowercase hex>.addr.<parent>`, owned by that
          address from the start, without registering;
        - ENS resolver records on any of them: text, addr (coin type 60),
          addr per coin type (ENSIP-11, with the ENSIP-19 default fallback)
          and contenthash;
        - one primary (reverse) name per address.
        Every node is the ENS namehash of the full name, so L1 and L2 agree on
        nodes. Every write also exists as an EIP-712 signed variant
        (`...WithSig`) so that a relayer can pay the gas; nonces are per
        signer, EOA and ERC-1271 signers are accepted.
@dev Authorisation. A node's owner may write its records and transfer it. An
     operator approved with `setApprovalForAll` may write the records of all
     the owner's names but may NOT transfer them (ENS's registry lets
     operators transfer too; here an operator key, typically held by an app
     or a delivery service, can never lose a user their name). Address names
     cannot be transferred at all.

     Address names. An address name is not in storage until its first write:
     then its owner is recorded and `NameRegistered` (parent = `ADDR_NODE`) and
     `Transfer` are emitted so that indexers learn the node -> address
     mapping. Until then `owner(node)` returns the zero address and operators
     cannot write it, because the address cannot be recovered from the node.

     Storage of addresses. A coin address of at most 31 bytes (every EVM
     address) is packed into one slot: the bytes left-aligned, their length in
     the lowest byte. Longer addresses (up to 128 bytes) are marked with
     `_LONG_ADDRESS` in that slot and stored in `_long_addresses`. This keeps
     `setAddr` at one storage write, like Solidity's short `bytes`. Primary
     names are stored the same way (`_primary_names`, `_long_primary_names`):
     a name of at most 31 bytes, as most are, costs one slot instead of two.

     EIP-712 type strings (domain: name "dm3 ProfileRegistry", version "1",
     chainId, verifyingContract). Every struct names the signer, so that a
     signature made for one account can never be replayed for another account
     (e.g. an ERC-1271 wallet whose owner key also signs for itself):
       Register(address signer,string label,address owner,uint256 nonce,uint256 deadline)
       SetOwner(address signer,bytes32 node,address owner,uint256 nonce,uint256 deadline)
       SetApprovalForAll(address signer,address operator,bool approved,uint256 nonce,uint256 deadline)
       SetText(address signer,bytes32 node,string key,string value,uint256 nonce,uint256 deadline)
       SetAddr(address signer,bytes32 node,address a,uint256 nonce,uint256 deadline)
       SetAddrForCoin(address signer,bytes32 node,uint256 coinType,bytes a,uint256 nonce,uint256 deadline)
       SetContenthash(address signer,bytes32 node,bytes hash,uint256 nonce,uint256 deadline)
       SetPrimaryName(address signer,string name,uint256 nonce,uint256 deadline)

     Caps: label 63 bytes (the DNS label limit), text key 256 bytes, text value
     4096 bytes, coin address 128 bytes, contenthash 512 bytes, primary name
     255 bytes. Inputs over a cap that are typed with that cap are refused by
     the ABI decoder (a revert without reason).
"""


################################################################
#                          INTERFACES                          #
################################################################


from ethereum.ercs import IERC165
implements: IERC165


################################################################
#                           MODULES                            #
################################################################


# @dev The EIP-712 domain "dm3 ProfileRegistry", version "1".
from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator


# @dev Nonces and the one signature check of every `...WithSig` write.
from modules import signed_calls
initializes: signed_calls[eip712_domain_separator := eip712_domain_separator]


# @dev Label rules, namehash, address-name labels, coin types.
from modules import ens_names
initializes: ens_names


################################################################
#                           EXPORTS                            #
################################################################


exports: (
    # EIP-712 signed writes: the signer's next nonce, the domain separator
    # and its EIP-5267 description.
    signed_calls.nonces,
    signed_calls.DOMAIN_SEPARATOR,
    eip712_domain_separator.eip712Domain,
)


################################################################
#                          CONSTANTS                           #
################################################################


# @dev EIP-712 domain name and version.
_EIP712_NAME: constant(String[50]) = "dm3 ProfileRegistry"
_EIP712_VERSION: constant(String[20]) = "1"


# @notice EIP-712 type hash of a signed `register`.
REGISTER_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Register(address signer,string label,address owner,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed `setOwner`.
SET_OWNER_TYPEHASH: public(constant(bytes32)) = keccak256(
    "SetOwner(address signer,bytes32 node,address owner,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed `setApprovalForAll`.
SET_APPROVAL_FOR_ALL_TYPEHASH: public(constant(bytes32)) = keccak256(
    "SetApprovalForAll(address signer,address operator,bool approved,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed `setText`.
SET_TEXT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "SetText(address signer,bytes32 node,string key,string value,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed `setAddr`.
SET_ADDR_TYPEHASH: public(constant(bytes32)) = keccak256(
    "SetAddr(address signer,bytes32 node,address a,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed `setAddrForCoin`.
SET_ADDR_FOR_COIN_TYPEHASH: public(constant(bytes32)) = keccak256(
    "SetAddrForCoin(address signer,bytes32 node,uint256 coinType,bytes a,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed `setContenthash`.
SET_CONTENTHASH_TYPEHASH: public(constant(bytes32)) = keccak256(
    "SetContenthash(address signer,bytes32 node,bytes hash,uint256 nonce,uint256 deadline)"
)


# @notice EIP-712 type hash of a signed `setPrimaryName`.
SET_PRIMARY_NAME_TYPEHASH: public(constant(bytes32)) = keccak256(
    "SetPrimaryName(address signer,string name,uint256 nonce,uint256 deadline)"
)


# @dev The label reserved for the address-name namespace `addr.<parent>`.
_ADDR_LABEL_HASH: constant(bytes32) = keccak256("addr")


# @dev ENSIP-9 coin type of Ethereum, served by `addr(node)`.
_COIN_TYPE_ETH: constant(uint256) = ens_names.COIN_TYPE_ETH


# @dev ENSIP-19 default EVM coin type (chain id 0).
_COIN_TYPE_DEFAULT: constant(uint256) = ens_names.COIN_TYPE_DEFAULT


# @dev Marker in `_addresses` for an address longer than 31 bytes, and in
# `_primary_names` for a name longer than 31 bytes.
_LONG_ADDRESS: constant(uint256) = 255


# @dev `_addresses` word of a 20-byte address: its length in the lowest byte.
_EVM_ADDRESS_LENGTH: constant(uint256) = 20


# @dev Interface ids answered by `supportsInterface`.
_ERC165_INTERFACE_ID: constant(bytes4) = 0x01FFC9A7
_ADDR_INTERFACE_ID: constant(bytes4) = 0x3B3B57DE
_ADDRESS_INTERFACE_ID: constant(bytes4) = 0xF1CB7E06
_TEXT_INTERFACE_ID: constant(bytes4) = 0x59D1D43C
_CONTENTHASH_INTERFACE_ID: constant(bytes4) = 0xBC1C58D1


################################################################
#                          IMMUTABLES                          #
################################################################


# @dev The parent name, e.g. "op.dm3.eth".
_PARENT_NAME: immutable(String[255])


# @notice ENS namehash of the parent name.
PARENT_NODE: public(immutable(bytes32))


# @notice ENS namehash of `addr.<parent>`, the parent of every address name.
ADDR_NODE: public(immutable(bytes32))


################################################################
#                           STORAGE                            #
################################################################


# @dev Owner of each node; zero for a name never registered or an address
# name never written.
_owners: HashMap[bytes32, address]


# @dev Operators: owner -> operator -> approved.
_operators: HashMap[address, HashMap[address, bool]]


# @dev Text records: node -> key -> value.
_texts: HashMap[bytes32, HashMap[String[256], String[4096]]]


# @dev Coin addresses, packed: node -> coin type -> (bytes left-aligned |
# length), or `_LONG_ADDRESS` when the address is in `_long_addresses`.
_addresses: HashMap[bytes32, HashMap[uint256, uint256]]


# @dev Coin addresses longer than 31 bytes: node -> coin type -> bytes.
_long_addresses: HashMap[bytes32, HashMap[uint256, Bytes[128]]]


# @dev Contenthash records: node -> ENSIP-7 contenthash.
_contenthashes: HashMap[bytes32, Bytes[512]]


# @dev Primary (reverse) names, packed like `_addresses`: account -> (name
# bytes left-aligned | length), or `_LONG_ADDRESS` when the name is in
# `_long_primary_names`.
_primary_names: HashMap[address, uint256]


# @dev Primary names longer than 31 bytes: account -> name.
_long_primary_names: HashMap[address, String[255]]


################################################################
#                            EVENTS                            #
################################################################


# @notice A name came into existence: by `register` (parent = `PARENT_NODE`)
#         or by the first write to an address name (parent = `ADDR_NODE`).
# @param node The new name's node.
# @param parent `PARENT_NODE` or `ADDR_NODE`.
# @param owner The first owner.
# @param label The label: as registered, or the 40 lowercase hex digits of
#        `owner` for an address name.
event NameRegistered:
    node: indexed(bytes32)
    parent: indexed(bytes32)
    owner: indexed(address)
    label: String[255]


# @notice The owner of a node changed; also emitted right after
#         `NameRegistered` with the first owner (ENS registry shape).
# @param node The node.
# @param owner The new owner.
event Transfer:
    node: indexed(bytes32)
    owner: address


# @notice An owner approved or revoked an operator for the records of all
#         its names.
# @param owner The approving owner.
# @param operator The operator.
# @param approved Whether the operator may now write.
event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool


# @notice A text record was set; an empty value deletes it (ENS shape).
# @param node The node.
# @param indexedKey The key again, as a topic (its keccak256).
# @param key The key.
# @param value The new value.
event TextChanged:
    node: indexed(bytes32)
    indexedKey: indexed(String[256])
    key: String[256]
    value: String[4096]


# @notice The coin type 60 address was set; always emitted right after
#         `AddressChanged(node, 60, ...)`, as ENS does.
# @param node The node.
# @param a The new address; zero when the record was deleted.
event AddrChanged:
    node: indexed(bytes32)
    a: address


# @notice The address for a coin type was set; empty bytes delete it.
# @param node The node.
# @param coinType The ENSIP-9/ENSIP-11 coin type.
# @param newAddress The address in the coin's binary format.
event AddressChanged:
    node: indexed(bytes32)
    coinType: uint256
    newAddress: Bytes[128]


# @notice The ENSIP-7 contenthash was set; empty bytes delete it.
# @param node The node.
# @param hash The new contenthash.
event ContenthashChanged:
    node: indexed(bytes32)
    hash: Bytes[512]


# @notice An account set its primary (reverse) name; empty clears it.
# @param account The account.
# @param name The new primary name.
event PrimaryNameChanged:
    account: indexed(address)
    name: String[255]


################################################################
#                         CONSTRUCTOR                          #
################################################################


@deploy
def __init__(parent_name: String[255]):
    """
    @dev Computes the parent's namehash on-chain, so a deployment's nodes can
         only be those of the name it was given.
    @param parent_name The parent name, e.g. "op.dm3.eth": non-empty labels
           of lowercase a-z, 0-9 and inner hyphens, separated by dots.
    """
    eip712_domain_separator.__init__(_EIP712_NAME, _EIP712_VERSION)
    signed_calls.__init__("registry")
    ens_names.__init__("registry")
    _PARENT_NAME = parent_name
    PARENT_NODE = ens_names._namehash(parent_name)
    ADDR_NODE = keccak256(concat(PARENT_NODE, _ADDR_LABEL_HASH))


################################################################
#                         USER WRITES                          #
################################################################


@external
def register(label: String[255], owner: address) -> bytes32:
    """
    @notice Registers `<label>.<parent>` for `owner`, first come first served.
            Anyone may register a free name for anyone.
    @dev The label must be 1-63 bytes of a-z, 0-9 and hyphens, must not start
         or end with a hyphen, must not have hyphens as both third and fourth
         byte (ENSIP-15) and must not be "addr". The parameter is typed
         255 so that a too-long label reverts with a reason.
    @param label The label.
    @param owner The first owner; not zero.
    @return bytes32 The node of the new name.
    """
    return self._register(label, owner)


@external
def registerWithSig(
    label: String[255], owner: address, signer: address, deadline: uint256, signature: Bytes[65]
) -> bytes32:
    """
    @notice `register` on behalf of `signer`, who signed
            `Register(address signer,string label,address owner,uint256 nonce,uint256 deadline)`.
    @param label The label.
    @param owner The first owner; not zero.
    @param signer The account that signed.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The signer's 64/65-byte ECDSA or ERC-1271 signature.
    @return bytes32 The node of the new name.
    """
    signed_calls._use_signature(
        signer,
        deadline,
        signature,
        keccak256(
            abi_encode(
                REGISTER_TYPEHASH, signer, keccak256(label), owner, signed_calls.nonces[signer], deadline
            )
        ),
    )
    return self._register(label, owner)


@external
def setOwner(node: bytes32, owner: address):
    """
    @notice Transfers `node` to `owner`. Only the owner may transfer (not an
            operator); address names cannot be transferred.
    @param node The node.
    @param owner The new owner; not zero.
    """
    self._set_owner(node, owner, msg.sender)


@external
def setOwnerWithSig(
    node: bytes32, owner: address, signer: address, deadline: uint256, signature: Bytes[65]
):
    """
    @notice `setOwner` on behalf of `signer`, who signed
            `SetOwner(address signer,bytes32 node,address owner,uint256 nonce,uint256 deadline)`.
    @param node The node.
    @param owner The new owner; not zero.
    @param signer The account that signed; must own `node`.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The signer's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        signer,
        deadline,
        signature,
        keccak256(abi_encode(SET_OWNER_TYPEHASH, signer, node, owner, signed_calls.nonces[signer], deadline)),
    )
    self._set_owner(node, owner, signer)


@external
def setApprovalForAll(operator: address, approved: bool):
    """
    @notice Lets `operator` write (or stop writing) the records of all the
            caller's names, including names received later. Operators cannot
            transfer names.
    @param operator The operator.
    @param approved Whether the operator is approved.
    """
    self._set_approval_for_all(msg.sender, operator, approved)


@external
def setApprovalForAllWithSig(
    operator: address, approved: bool, signer: address, deadline: uint256, signature: Bytes[65]
):
    """
    @notice `setApprovalForAll` on behalf of `signer`, who signed
            `SetApprovalForAll(address signer,address operator,bool approved,uint256 nonce,uint256 deadline)`.
    @param operator The operator.
    @param approved Whether the operator is approved.
    @param signer The account that signed; the approving owner.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The signer's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        signer,
        deadline,
        signature,
        keccak256(
            abi_encode(
                SET_APPROVAL_FOR_ALL_TYPEHASH, signer, operator, approved, signed_calls.nonces[signer], deadline
            )
        ),
    )
    self._set_approval_for_all(signer, operator, approved)


@external
def setText(node: bytes32, key: String[256], text_value: String[4096]):
    """
    @notice Sets the text record `key` of `node` (ENS `setText`).
    @param node The node; the caller must own it, operate for its owner, or
           it must be the caller's address name.
    @param key The key, at most 256 bytes, e.g. "network.dm3.profile".
    @param text_value The value, at most 4096 bytes; empty deletes the record.
    """
    self._set_text(node, key, text_value, msg.sender)


@external
def setTextWithSig(
    node: bytes32,
    key: String[256],
    text_value: String[4096],
    signer: address,
    deadline: uint256,
    signature: Bytes[65],
):
    """
    @notice `setText` on behalf of `signer`, who signed
            `SetText(address signer,bytes32 node,string key,string value,uint256 nonce,uint256 deadline)`.
    @param node The node; `signer` must be authorised for it.
    @param key The key, at most 256 bytes.
    @param text_value The value, at most 4096 bytes; empty deletes the record.
    @param signer The account that signed.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The signer's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        signer,
        deadline,
        signature,
        keccak256(
            abi_encode(
                SET_TEXT_TYPEHASH,
                signer,
                node,
                keccak256(key),
                keccak256(text_value),
                signed_calls.nonces[signer],
                deadline,
            )
        ),
    )
    self._set_text(node, key, text_value, signer)


@external
def setAddr(node: bytes32, a: address):
    """
    @notice Sets the Ethereum (coin type 60) address of `node` (ENS
            `setAddr(bytes32,address)`); the zero address is stored as 20
            zero bytes, as ENS does.
    @param node The node; the caller must be authorised for it.
    @param a The address.
    """
    self._set_addr(node, a, msg.sender)


@external
def setAddrWithSig(node: bytes32, a: address, signer: address, deadline: uint256, signature: Bytes[65]):
    """
    @notice `setAddr` on behalf of `signer`, who signed
            `SetAddr(address signer,bytes32 node,address a,uint256 nonce,uint256 deadline)`.
    @param node The node; `signer` must be authorised for it.
    @param a The address.
    @param signer The account that signed.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The signer's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        signer,
        deadline,
        signature,
        keccak256(abi_encode(SET_ADDR_TYPEHASH, signer, node, a, signed_calls.nonces[signer], deadline)),
    )
    self._set_addr(node, a, signer)


@external
def setAddrForCoin(node: bytes32, coinType: uint256, a: Bytes[128]):
    """
    @notice Sets the address of `node` for an ENSIP-9/ENSIP-11 coin type: ENS
            `setAddr(bytes32,uint256,bytes)` under its own name, since Vyper has
            no overloading.
    @dev For EVM coin types (60, and 0x80000000 | chain id, including the
         default 0x80000000) the address must be empty or 20 bytes, as in
         ENS's resolver. Coin type 60 is the record `addr(node)` reads.
    @param node The node; the caller must be authorised for it.
    @param coinType The coin type.
    @param a The address in the coin's binary format, at most 128 bytes;
           empty deletes the record.
    """
    self._set_addr_for_coin(node, coinType, a, msg.sender)


@external
def setAddrForCoinWithSig(
    node: bytes32,
    coinType: uint256,
    a: Bytes[128],
    signer: address,
    deadline: uint256,
    signature: Bytes[65],
):
    """
    @notice `setAddrForCoin` on behalf of `signer`, who signed
            `SetAddrForCoin(address signer,bytes32 node,uint256 coinType,bytes a,uint256 nonce,uint256 deadline)`.
    @param node The node; `signer` must be authorised for it.
    @param coinType The coin type.
    @param a The address in the coin's binary format; empty deletes it.
    @param signer The account that signed.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The signer's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        signer,
        deadline,
        signature,
        keccak256(
            abi_encode(
                SET_ADDR_FOR_COIN_TYPEHASH,
                signer,
                node,
                coinType,
                keccak256(a),
                signed_calls.nonces[signer],
                deadline,
            )
        ),
    )
    self._set_addr_for_coin(node, coinType, a, signer)


@external
def setContenthash(node: bytes32, hash: Bytes[512]):
    """
    @notice Sets the ENSIP-7 contenthash of `node` (ENS `setContenthash`).
    @param node The node; the caller must be authorised for it.
    @param hash The contenthash, at most 512 bytes; empty deletes it.
    """
    self._set_contenthash(node, hash, msg.sender)


@external
def setContenthashWithSig(
    node: bytes32, hash: Bytes[512], signer: address, deadline: uint256, signature: Bytes[65]
):
    """
    @notice `setContenthash` on behalf of `signer`, who signed
            `SetContenthash(address signer,bytes32 node,bytes hash,uint256 nonce,uint256 deadline)`.
    @param node The node; `signer` must be authorised for it.
    @param hash The contenthash, at most 512 bytes; empty deletes it.
    @param signer The account that signed.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The signer's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        signer,
        deadline,
        signature,
        keccak256(
            abi_encode(SET_CONTENTHASH_TYPEHASH, signer, node, keccak256(hash), signed_calls.nonces[signer], deadline)
        ),
    )
    self._set_contenthash(node, hash, signer)


@external
def setPrimaryName(name: String[255]):
    """
    @notice Sets the caller's primary (reverse) name. The name is not checked:
            clients must verify that it resolves forward to the caller.
    @param name The full name, e.g. "alice.op.dm3.eth"; empty clears it.
    """
    self._set_primary_name(msg.sender, name)


@external
def setPrimaryNameWithSig(name: String[255], signer: address, deadline: uint256, signature: Bytes[65]):
    """
    @notice `setPrimaryName` for `signer`, who signed
            `SetPrimaryName(address signer,string name,uint256 nonce,uint256 deadline)`.
    @param name The full name; empty clears it.
    @param signer The account that signed, whose primary name is set.
    @param deadline The last timestamp at which the signature is valid.
    @param signature The signer's 64/65-byte ECDSA or ERC-1271 signature.
    """
    signed_calls._use_signature(
        signer,
        deadline,
        signature,
        keccak256(
            abi_encode(SET_PRIMARY_NAME_TYPEHASH, signer, keccak256(name), signed_calls.nonces[signer], deadline)
        ),
    )
    self._set_primary_name(signer, name)


################################################################
#                            VIEWS                             #
################################################################


@external
@view
def parent_name() -> String[255]:
    """
    @notice The parent name every registered name sits under.
    @return String The parent name, e.g. "op.dm3.eth".
    """
    return _PARENT_NAME


@external
@view
def supportsInterface(interfaceID: bytes4) -> bool:
    """
    @notice EIP-165: ERC-165 itself and the ENS resolver profiles served here
            (addr, addr by coin type, text, contenthash).
    @param interfaceID The 4-byte interface identifier.
    @return bool Whether the interface is supported.
    """
    return interfaceID in [
        _ERC165_INTERFACE_ID,
        _ADDR_INTERFACE_ID,
        _ADDRESS_INTERFACE_ID,
        _TEXT_INTERFACE_ID,
        _CONTENTHASH_INTERFACE_ID,
    ]


@external
@view
def owner(node: bytes32) -> address:
    """
    @notice The owner of `node` (ENS registry `owner`).
    @param node The node.
    @return address The owner; zero for a free name and for an address name
            that was never written.
    """
    return self._owners[node]


@external
@view
def isApprovedForAll(owner: address, operator: address) -> bool:
    """
    @notice Whether `operator` may write the records of all `owner`'s names.
    @param owner The owner.
    @param operator The operator.
    @return bool The approval.
    """
    return self._operators[owner][operator]


@external
@view
def addr_name_node(account: address) -> bytes32:
    """
    @notice The node of `account`'s address name `<40 lowercase hex>.addr.<parent>`.
    @param account The account.
    @return bytes32 The node.
    """
    return keccak256(concat(ADDR_NODE, keccak256(ens_names._hex_label(account))))


@external
@view
def text(node: bytes32, key: String[256]) -> String[4096]:
    """
    @notice The text record `key` of `node` (ENS `text`).
    @param node The node.
    @param key The key.
    @return String The value; empty when unset.
    """
    return self._texts[node][key]


@external
@view
def addr(node: bytes32) -> address:
    """
    @notice The Ethereum (coin type 60) address of `node` (ENS
            `addr(bytes32)`), falling back to the ENSIP-19 default EVM address.
    @param node The node.
    @return address The address; zero when unset.
    """
    word: uint256 = self._addresses[node][_COIN_TYPE_ETH]
    if word == 0:
        word = self._addresses[node][_COIN_TYPE_DEFAULT]
    return convert(word >> 96, address)


@external
@view
def addrForCoin(node: bytes32, coinType: uint256) -> Bytes[128]:
    """
    @notice The address of `node` for a coin type: ENS `addr(bytes32,uint256)`
            under its own name. The ENS selector itself (0xf1cb7e06) is served
            too, by `__default__`.
    @dev ENSIP-19: an EVM chain's coin type (60, or 0x80000000 | chain id with
         chain id > 0) without a record returns the default EVM address
         (coin type 0x80000000), exactly as ENS's resolver does.
    @param node The node.
    @param coinType The coin type.
    @return Bytes The address in the coin's binary format; empty when unset.
    """
    return self._address_for_coin(node, coinType)


@external
@view
def contenthash(node: bytes32) -> Bytes[512]:
    """
    @notice The ENSIP-7 contenthash of `node` (ENS `contenthash`).
    @param node The node.
    @return Bytes The contenthash; empty when unset.
    """
    return self._contenthashes[node]


@external
@view
def primaryName(account: address) -> String[255]:
    """
    @notice The primary (reverse) name `account` set.
    @param account The account.
    @return String The name; empty when unset.
    """
    word: uint256 = self._primary_names[account]
    length: uint256 = word & 255
    if length == _LONG_ADDRESS:
        return self._long_primary_names[account]
    return convert(slice(convert(word, bytes32), 0, length), String[31])


@external
@view
@raw_return
def __default__() -> Bytes[192]:
    """
    @notice Serves ENS's overloaded `addr(bytes32 node, uint256 coinType)`
            (selector 0xf1cb7e06), which Vyper cannot declare next to
            `addr(bytes32)`; any other call reverts. It is a view: the
            fallback can never write state or take ether.
    @dev The setter overload `setAddr(bytes32,uint256,bytes)` is not served:
         Vyper 0.4.3 only slices `msg.data` by a constant length, so a
         variable-length `bytes` argument cannot be decoded here without
         hand-written ABI decoding. It is `setAddrForCoin`.
    @return Bytes The ABI-encoded `bytes` address.
    """
    assert len(msg.data) >= 68, "registry: unknown function"
    assert convert(slice(msg.data, 0, 4), bytes4) == _ADDRESS_INTERFACE_ID, "registry: unknown function"
    node: bytes32 = empty(bytes32)
    coin_type: uint256 = 0
    node, coin_type = abi_decode(slice(msg.data, 4, 64), (bytes32, uint256))
    return abi_encode(self._address_for_coin(node, coin_type))


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@internal
def _register(label: String[255], owner: address) -> bytes32:
    """
    @dev Validates the label and records the new name.
    @param label The label.
    @param owner The first owner.
    @return bytes32 The node.
    """
    ens_names._check_label(convert(label, Bytes[255]))
    label_hash: bytes32 = keccak256(label)
    assert label_hash != _ADDR_LABEL_HASH, "registry: reserved label"
    assert owner != empty(address), "registry: zero owner"
    node: bytes32 = keccak256(concat(PARENT_NODE, label_hash))
    assert self._owners[node] == empty(address), "registry: name taken"
    self._owners[node] = owner
    log NameRegistered(node=node, parent=PARENT_NODE, owner=owner, label=label)
    log Transfer(node=node, owner=owner)
    return node


@internal
def _set_owner(node: bytes32, new_owner: address, caller: address):
    """
    @dev Transfers `node` from `caller`, its owner, to `new_owner`.
    @param node The node.
    @param new_owner The new owner.
    @param caller The account asking; must be the current owner.
    """
    assert new_owner != empty(address), "registry: zero owner"
    current: address = self._owners[node]
    assert current == caller and current != empty(address), "registry: not the owner"
    # Cost paid only on transfers: an address name is the one node whose hex
    # label its owner's address produces.
    assert node != keccak256(
        concat(ADDR_NODE, keccak256(ens_names._hex_label(current)))
    ), "registry: address names cannot be transferred"
    self._owners[node] = new_owner
    log Transfer(node=node, owner=new_owner)


@internal
def _set_approval_for_all(owner: address, operator: address, approved: bool):
    """
    @dev Records and announces an operator approval.
    @param owner The approving owner.
    @param operator The operator.
    @param approved Whether the operator is approved.
    """
    self._operators[owner][operator] = approved
    log ApprovalForAll(owner=owner, operator=operator, approved=approved)


@internal
def _authorise(node: bytes32, account: address):
    """
    @dev Reverts unless `account` may write the records of `node`: it owns
         it, operates for its owner, or `node` is `account`'s address name.
         The first write to an address name records its owner and announces
         it. The common case (the owner writes) costs one storage read; the
         hex label is only computed for a node without an owner.
         The zero address is refused here, whoever the caller is: an unowned
         node's owner is zero, so without this rule a zero `account` would
         "own" every address name not written yet, every unregistered label
         and the parent node.
    @param node The node.
    @param account The writer.
    """
    assert account != empty(address), "registry: not authorised"
    current: address = self._owners[node]
    if current == account:
        return
    if current != empty(address):
        assert self._operators[current][account], "registry: not authorised"
        return
    label: Bytes[40] = ens_names._hex_label(account)
    assert node == keccak256(concat(ADDR_NODE, keccak256(label))), "registry: not authorised"
    self._owners[node] = account
    log NameRegistered(node=node, parent=ADDR_NODE, owner=account, label=convert(label, String[40]))
    log Transfer(node=node, owner=account)


@internal
def _set_text(node: bytes32, key: String[256], text_value: String[4096], writer: address):
    """
    @dev Stores a text record for an authorised writer.
    @param node The node.
    @param key The key.
    @param text_value The value; empty deletes the record.
    @param writer The account writing (caller or signer); see `_authorise`.
    """
    self._authorise(node, writer)
    self._texts[node][key] = text_value
    log TextChanged(node=node, indexedKey=key, key=key, value=text_value)


@internal
def _set_addr(node: bytes32, a: address, writer: address):
    """
    @dev Stores a coin type 60 address for an authorised writer and emits
         ENS's two events.
    @param node The node.
    @param a The address.
    @param writer The account writing (caller or signer); see `_authorise`.
    """
    self._authorise(node, writer)
    self._addresses[node][_COIN_TYPE_ETH] = (convert(a, uint256) << 96) | _EVM_ADDRESS_LENGTH
    log AddressChanged(node=node, coinType=_COIN_TYPE_ETH, newAddress=concat(convert(a, bytes20), b""))
    log AddrChanged(node=node, a=a)


@internal
def _set_addr_for_coin(node: bytes32, coin_type: uint256, a: Bytes[128], writer: address):
    """
    @dev Stores a coin address for an authorised writer (packed in one slot
         when at most 31 bytes).
    @param node The node.
    @param coin_type The coin type.
    @param a The address bytes; empty deletes the record.
    @param writer The account writing (caller or signer); see `_authorise`.
    """
    self._authorise(node, writer)
    length: uint256 = len(a)
    if length != 0 and length != _EVM_ADDRESS_LENGTH:
        assert not ens_names._is_evm_coin_type(coin_type), "registry: evm address must be 20 bytes"
    # The first 32 bytes, zero-padded: the packed word of a short address.
    head: uint256 = convert(extract32(concat(a, empty(bytes32)), 0), uint256)
    if length < 32:
        self._addresses[node][coin_type] = head | length
    else:
        self._addresses[node][coin_type] = _LONG_ADDRESS
        self._long_addresses[node][coin_type] = a
    log AddressChanged(node=node, coinType=coin_type, newAddress=a)
    if coin_type == _COIN_TYPE_ETH:
        # 20 bytes or none (then the zero address, as ENS emits).
        log AddrChanged(node=node, a=convert(head >> 96, address))


@internal
def _set_contenthash(node: bytes32, hash: Bytes[512], writer: address):
    """
    @dev Stores a contenthash for an authorised writer.
    @param node The node.
    @param hash The ENSIP-7 contenthash; empty deletes it.
    @param writer The account writing (caller or signer); see `_authorise`.
    """
    self._authorise(node, writer)
    self._contenthashes[node] = hash
    log ContenthashChanged(node=node, hash=hash)


@internal
@view
def _address_for_coin(node: bytes32, coin_type: uint256) -> Bytes[128]:
    """
    @dev Reads a coin address, with the ENSIP-19 default EVM fallback.
    @param node The node.
    @param coin_type The coin type.
    @return Bytes The address bytes; empty when unset.
    """
    coin: uint256 = coin_type
    word: uint256 = self._addresses[node][coin]
    if word == 0 and ens_names._evm_chain(coin) != 0:
        coin = _COIN_TYPE_DEFAULT
        word = self._addresses[node][coin]
    length: uint256 = word & 255
    if length == _LONG_ADDRESS:
        return self._long_addresses[node][coin]
    return slice(convert(word, bytes32), 0, length)


@internal
def _set_primary_name(account: address, name: String[255]):
    """
    @dev Records and announces a primary name.
    @param account The account.
    @param name The name; empty clears it.
    """
    length: uint256 = len(name)
    if length < 32:
        # The first 32 bytes, zero-padded, with the length in the lowest byte.
        head: uint256 = convert(extract32(concat(convert(name, Bytes[255]), empty(bytes32)), 0), uint256)
        self._primary_names[account] = head | length
    else:
        self._primary_names[account] = _LONG_ADDRESS
        self._long_primary_names[account] = name
    log PrimaryNameChanged(account=account, name=name)
