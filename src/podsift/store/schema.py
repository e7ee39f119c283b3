"""The schema: migrations from the first version, for each engine, applied in order at open."""

from __future__ import annotations

import functools
from importlib import resources

from .db import Database


@functools.cache  # read once per process: every opening of the store looks at them
def migrations(engine: str = "sqlite") -> tuple[tuple[int, str], ...]:
    """(version, SQL) of every migration shipped for `engine`, in order. Both engines end at the
    same version; Postgres, newer here, starts from one migration that is SQLite's first thirteen."""
    folder = resources.files("podsift.store") / "migrations" / engine
    return tuple(
        sorted((int(f.name.split("_", 1)[0]), f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))
    )


def statements(sql: str) -> list[str]:
    """A migration's statements, without comments."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def schema_version(db: Database) -> int:
    """The version the database is at: 0 for a new one."""
    return (db.value("SELECT MAX(version) FROM schema_version") or 0) if db.has_table("schema_version") else 0


def migrate(db: Database) -> None:
    """Apply every migration newer than the database, each in its own transaction. Processes
    that open a new store at once (workers starting together) take turns: each migration is
    applied by the first, and found applied by the others."""
    current = schema_version(db)
    pending = [(v, sql) for v, sql in migrations(db.engine) if v > current]
    for version, sql in pending:
        with db.transaction():
            db.lock_schema()
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            if version <= schema_version(db):
                continue  # another process applied it while this one waited
            for statement in statements(sql):
                db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
