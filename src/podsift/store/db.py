"""The SQL engine under the store: `Database`, one small interface with a backend per engine
(`sqlite.SqliteDatabase`, the default; `postgres.PostgresDatabase`).

The store's SQL is written once, for both engines: `%s` placeholders, `INSERT ... RETURNING id`,
`ON CONFLICT` upserts, ISO-8601 text times (which sort as they compare) and JSON text lists. What
the engines do differently lives in the backends: connecting, transactions, placeholders, the
error a user is shown, and full-text search (FTS5 against `tsvector`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from ..errors import NotFound, PodsiftError


class StoreError(PodsiftError):
    """The database failed (a full disk, a read-only home, a lost server); the transaction in
    flight was rolled back, so nothing already stored is lost."""


class Row(Protocol):
    """A result row: by column name or by position."""

    def __getitem__(self, key: int | str) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> list[Row]: ...

    def __iter__(self): ...


class Database:
    """What the store needs of an engine. Backends implement `execute`, `many`, `transaction`,
    `close`, `migrations` and the two text searches; the rest is built on those."""

    engine = ""  # "sqlite" or "postgres": the folder of its migrations

    def execute(self, sql: str, args: Sequence = ()) -> Cursor:
        raise NotImplementedError

    def many(self, sql: str, rows: Iterable[Sequence]) -> None:
        """Run one statement for each of `rows`."""
        raise NotImplementedError

    def transaction(self):
        """A context manager: the statements inside commit together, or roll back on an exception."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError

    def lock_schema(self) -> None:
        """Inside a transaction: wait until no other process is changing the schema, and keep
        them waiting until this transaction ends (a migration, or Procrastinate's tables)."""

    def search_insights(self, words: list[str], show_ids: list[int], limit: int) -> list[dict]:
        """Insights of the shows `show_ids` that contain every word, best first, as {"kind":
        "insight", "ref": its id, "snippet", "episode_id"}. The engine narrows to those shows in
        its index, so the cost follows what they hold, not what the whole store does."""
        raise NotImplementedError

    def search_sentences(self, words: list[str], show_ids: list[int], limit: int) -> list[tuple]:
        """Transcript sentences of the shows `show_ids` that contain any of `words`, best first, at
        most `limit`, each as (episode_id, start, text with each match between \\x02 and \\x03, the positions in `words`
        of the words it holds, rank: lower is better): the fields of `search.SentenceHit`."""
        raise NotImplementedError

    # -- built on the above -------------------------------------------------------------------

    def one(self, sql: str, args: Sequence = ()) -> Row | None:
        return self.execute(sql, args).fetchone()

    def all(self, sql: str, args: Sequence = ()) -> list[Row]:
        return self.execute(sql, args).fetchall()

    def value(self, sql: str, args: Sequence = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.one(sql, args)
        return row[0] if row is not None else None

    def insert(self, sql: str, args: Sequence = ()) -> int:
        """Run an INSERT and return the id of the row it made."""
        return self.execute(f"{sql} RETURNING id", args).fetchone()[0]

    def need(self, sql: str, args: Sequence, missing: str) -> Row:
        """The one row a query finds, or NotFound with `missing`, a message that says what to do."""
        row = self.one(sql, args)
        if row is None:
            raise NotFound(missing)
        return row


def marks(count: int) -> str:
    """`count` placeholders, for `IN (...)`."""
    return ", ".join(["%s"] * count)
