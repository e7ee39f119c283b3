"""SQLite, the default store: one file in WAL mode under PODSIFT_HOME, FTS5 for search."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import PodsiftError
from .db import Database, StoreError


class SqliteDatabase(Database):
    """A SQLite file. One belongs to one thread (sqlite3's rule); every process opens its own."""

    engine = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        try:
            _private(path)
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise PodsiftError(
                f"cannot open the store at {path} ({exc}); check that PODSIFT_HOME is a writable folder"
            ) from exc

    def execute(self, sql: str, args: Sequence = ()):
        try:
            return self.conn.execute(_native(sql), tuple(args))
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from exc

    def many(self, sql: str, rows: Iterable[Sequence]) -> None:
        try:
            self.conn.executemany(_native(sql), rows)
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from exc

    def transaction(self):
        """BEGIN IMMEDIATE ... COMMIT: the write lock is taken at the start, so two processes never
        both read and then fail to write."""
        return _Transaction(self)

    def close(self) -> None:
        self.conn.close()

    def has_table(self, name: str) -> bool:
        return (
            self.one("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = %s", (name,)) is not None
        )

    def lock_schema(self) -> None:
        pass  # BEGIN IMMEDIATE has taken the write lock already: one writer at a time

    def search_insights(self, words: list[str], show_ids: list[int], limit: int) -> list[dict]:
        rows = self.execute(
            "SELECT 'insight' AS kind, f.ref, snippet(search, 3, char(2), char(3), ' ... ', 16) AS snippet, "
            "f.episode_id FROM search f WHERE search MATCH %s AND f.kind = 'insight' ORDER BY rank LIMIT %s",
            (f"text : ({' '.join(_quoted(words))}) AND {_shows(show_ids)}", limit),
        )
        return [dict(r) for r in rows]

    def search_sentences(self, words: list[str], show_ids: list[int], limit: int) -> list[tuple]:
        quoted, shows = _quoted(words), _shows(show_ids)
        rows = self.execute(
            "SELECT f.rowid, f.ref, f.episode_id, highlight(search, 3, char(2), char(3)), rank FROM search f "
            "WHERE search MATCH %s AND f.kind = 'sentence' ORDER BY rank LIMIT %s",
            (f"text : ({' OR '.join(quoted)}) AND {shows}", limit),
        ).fetchall()
        ids = json.dumps([r[0] for r in rows])
        contains = [  # which rows hold each word: FTS5's own matching, stems included
            {
                r[0]
                for r in self.execute(
                    "SELECT rowid FROM search WHERE search MATCH %s AND rowid IN (SELECT value FROM json_each(%s))",
                    (f"text : {word}", ids),
                )
            }
            for word in quoted
        ]
        return [
            (episode, float(ref), marked, frozenset(i for i, has in enumerate(contains) if rowid in has), rank)
            for rowid, ref, episode, marked, rank in rows
        ]


def explain(exc: sqlite3.Error, path: Path) -> StoreError:
    """A store failure as a message that says what to do; the transaction in flight was rolled back."""
    text = str(exc).lower()
    if "full" in text:
        why = f"the disk holding {path} is full; free some space and run again"
    elif "readonly" in text or "read-only" in text:
        why = f"{path} is read-only; make PODSIFT_HOME writable and run again"
    elif "locked" in text or "busy" in text:
        why = f"{path} is busy with another podsift process; try again in a moment"
    else:
        why = f"the store at {path} failed ({exc}); run again, and report it if it persists"
    return StoreError(f"{why}. Nothing already stored is lost: the unfinished change was rolled back.")


_PLACEHOLDER = re.compile(r"%s")


def _native(sql: str) -> str:
    """The store's portable SQL in sqlite3's own placeholders."""
    return _PLACEHOLDER.sub("?", sql)


def _quoted(words: list[str]) -> list[str]:
    """Each word as an FTS5 string: words, never FTS syntax."""
    return ['"' + w.replace('"', '""') + '"' for w in words]


def _shows(show_ids: list[int]) -> str:
    """An FTS5 filter to rows of these shows (their ids are tokens of the `show_id` column)."""
    return "show_id : (" + " OR ".join(str(int(i)) for i in show_ids) + ")"


class _Transaction:
    def __init__(self, db: SqliteDatabase):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, exc, tb):
        if kind is None:
            self.db.execute("COMMIT")
        elif self.db.conn.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
            self.db.conn.execute("ROLLBACK")


def _private(path: Path) -> None:
    """Make the store's folder and file readable by their owner only (the file holds password hashes),
    creating them so, and tightening what an earlier version made world-readable. SQLite gives its
    -wal and -shm files the database file's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    elif path.stat().st_mode & 0o077 and path.stat().st_uid == os.geteuid():
        path.chmod(0o600)
