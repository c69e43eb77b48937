"""Types shared by every table: exact uint256 amounts on SQLite and PostgreSQL, finality tiers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

#: How settled a block (and an answer read at it) is: the node's `latest`, `safe` and `finalized` tags.
Finality = Literal["latest", "safe", "finalized"]

UINT256_MAX = 2**256 - 1
UINT256_DIGITS = 78


class Uint256(TypeDecorator[int]):
    """An unsigned 256-bit integer, exact on every backend, read back as a Python ``int``.

    PostgreSQL stores ``NUMERIC(78, 0)``. SQLite has no exact type that wide, so it stores a decimal string
    zero-padded to 78 digits: string order equals numeric order, so SQL comparisons (``bond >= min``), ``ORDER BY``
    and ``MAX`` stay correct there too (``SUM`` does not: sum in Python on SQLite).
    """

    impl = String(UINT256_DIGITS)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(UINT256_DIGITS, 0))
        return dialect.type_descriptor(String(UINT256_DIGITS))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = int(value)
        if not 0 <= number <= UINT256_MAX:
            raise ValueError(f"not a uint256: {value!r}")
        if dialect.name == "postgresql":
            return Decimal(number)
        return f"{number:0{UINT256_DIGITS}d}"

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(value)
