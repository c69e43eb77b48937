# pragma version 0.4.3
"""
@title Test harness of the RLP and Merkle-Patricia proof modules
@custom:contract-name MptVerifier
@license MIT
@notice Exposes `modules/mpt.vy` for the tests: raw path walks, account proofs and storage proofs.
"""


from ..modules import rlp
from ..modules import mpt


@external
@pure
def verify(
    root: bytes32, path: bytes32, proof: DynArray[Bytes[rlp.MAX_NODE_LENGTH], mpt.MAX_PROOF_NODES]
) -> (bool, Bytes[rlp.MAX_NODE_LENGTH]):
    return mpt._verify(root, path, proof)


@external
@pure
def verify_account(
    state_root: bytes32, account: address, proof: DynArray[Bytes[rlp.MAX_NODE_LENGTH], mpt.MAX_PROOF_NODES]
) -> (bool, uint256, uint256, bytes32, bytes32):
    return mpt._verify_account(state_root, account, proof)


@external
@pure
def verify_storage(
    storage_root: bytes32, slot: uint256, proof: DynArray[Bytes[rlp.MAX_NODE_LENGTH], mpt.MAX_PROOF_NODES]
) -> uint256:
    return mpt._verify_storage(storage_root, slot, proof)
