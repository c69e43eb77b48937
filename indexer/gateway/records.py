"""The gateway's record source backed by the indexed registry tables."""

from __future__ import annotations

from sqlmodel import Session

from indexer.store.models import AddrRecord, Contenthash, TextRecord


class SqlRecordSource:
    """Records of one chain's registry, read through `session` (the request's snapshot)."""

    def __init__(self, session: Session, chain_id: int) -> None:
        self._session = session
        self._chain_id = chain_id

    def text(self, node: bytes, key: bytes) -> str | None:
        row = self._session.get(TextRecord, (self._chain_id, "0x" + node.hex(), "0x" + key.hex()))
        return row.value if row is not None else None

    def address(self, node: bytes, coin_type: int) -> bytes | None:
        row = self._session.get(AddrRecord, (self._chain_id, "0x" + node.hex(), coin_type))
        return bytes.fromhex(row.address[2:]) if row is not None else None

    def contenthash(self, node: bytes) -> bytes | None:
        row = self._session.get(Contenthash, (self._chain_id, "0x" + node.hex()))
        return bytes.fromhex(row.hash[2:]) if row is not None else None
