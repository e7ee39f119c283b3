"""Postgres, the store for a team: `database_url = "postgresql://..."` (or PODSIFT_DATABASE_URL),
any number of processes and machines on one database, `tsvector` for search.

Needs the `postgres` extra (`pip install 'podsift[postgres]'`: psycopg 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from ..errors import ConfigError
from .db import Database, StoreError

try:
    import psycopg
except ImportError:  # the default install has no Postgres; only a database_url asks for it
    psycopg = None


SCHEMA_LOCK = 7_370_331  # the advisory lock held while the schema changes ("podsift" on a phone keypad)
MARKS = "StartSel=\x02, StopSel=\x03"  # how a match is marked in a snippet, as FTS5's are


class PgRow(tuple):
    """A row by position or by column name, as sqlite3.Row is."""

    def __new__(cls, values, index: dict[str, int]):
        row = super().__new__(cls, values)
        row.index = index
        return row

    def __getitem__(self, key):
        return super().__getitem__(self.index[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self.index)


def _rows(cursor):
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: PgRow(values, index)


class PostgresDatabase(Database):
    """A connection to a Postgres database, in autocommit mode but for `transaction()`. One
    belongs to one thread, as a SQLite connection does."""

    engine = "postgres"

    def __init__(self, url: str):
        if psycopg is None:
            raise ConfigError("database_url names Postgres, which needs psycopg: pip install 'podsift[postgres]'")
        self.where = _where(url)
        try:
            self.conn = psycopg.connect(url, autocommit=True, row_factory=_rows, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot reach the Postgres store at {self.where} ({_first_line(exc)}); is the server running, "
                "and database_url (or PODSIFT_DATABASE_URL) right?"
            ) from exc

    def execute(self, sql: str, args: Sequence = ()):
        try:
            return self.conn.execute(sql, tuple(args) or None)  # None: no placeholders, '%' is plain text
        except psycopg.Error as exc:
            raise self._explain(exc) from exc

    def many(self, sql: str, rows: Iterable[Sequence]) -> None:
        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(sql, list(rows))
        except psycopg.Error as exc:
            raise self._explain(exc) from exc

    def transaction(self):
        return self.conn.transaction()

    def close(self) -> None:
        self.conn.close()

    def has_table(self, name: str) -> bool:
        return self.value("SELECT to_regclass(%s) IS NOT NULL", (name,))

    def lock_schema(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    def search_insights(self, words: list[str], show_ids: list[int], limit: int) -> list[dict]:
        found = self.all(
            "SELECT f.ref, f.episode_id, ts_headline('english', f.text, q, %s) AS snippet "
            "FROM search f, websearch_to_tsquery('english', %s) q "
            "WHERE f.words @@ q AND f.kind = 'insight' AND f.show_id = ANY(%s) ORDER BY ts_rank(f.words, q) DESC, f.id "
            "LIMIT %s",
            (f"{MARKS}, MaxWords=16, MinWords=8", " ".join(_quoted(words)), list(show_ids), limit),
        )
        return [{"kind": "insight", "ref": int(r[0]), "snippet": r[2], "episode_id": r[1]} for r in found]

    def search_sentences(self, words: list[str], show_ids: list[int], limit: int) -> list[tuple]:
        each = ", ".join(["f.words @@ websearch_to_tsquery('english', %s)"] * len(words))
        found = self.all(
            f"SELECT f.episode_id, f.ref, ts_headline('english', f.text, q, %s), ARRAY[{each}], "
            "-ts_rank(f.words, q) AS rank FROM search f, websearch_to_tsquery('english', %s) q "
            "WHERE f.words @@ q AND f.kind = 'sentence' AND f.show_id = ANY(%s) ORDER BY rank, f.id LIMIT %s",
            (f"{MARKS}, HighlightAll=true", *_quoted(words), " or ".join(_quoted(words)), list(show_ids), limit),
        )
        return [
            (episode, float(ref), marked, frozenset(i for i, has in enumerate(holds) if has), rank)
            for episode, ref, marked, holds, rank in found
        ]

    def _explain(self, exc: Exception) -> StoreError:
        if isinstance(exc, psycopg.OperationalError):
            why = f"lost the Postgres store at {self.where} ({_first_line(exc)}); run again once it answers"
        else:
            why = (
                f"the Postgres store at {self.where} failed ({_first_line(exc)}); run again, and report it if it lasts"
            )
        return StoreError(f"{why}. Nothing already stored is lost: the unfinished change was rolled back.")


def _quoted(words: list[str]) -> list[str]:
    """Each word as websearch_to_tsquery reads a quoted phrase: a word, never its syntax ("or", "-")."""
    return ['"' + w.replace('"', " ") + '"' for w in words]


def _where(url: str) -> str:
    """A database URL as a message may show it: without its password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port or 5432}{parts.path or ''}"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
