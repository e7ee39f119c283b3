"""The store: all of podsift's state, and the queue (STYLE.md: the store is the queue).

`Store` is one storage contract in parts, each a small class over the same `Database`:
`people` (recipients, sessions), `shows` (feeds, subscriptions), `episodes` (the queue and its
claims), `transcripts`, `insights` (with cards, votes and search), `digests`, `outbox` (email
deliveries) and `runs` (locks and what the service did). Their SQL is written once for every
engine; `db.Database` is what an engine must provide: `sqlite.SqliteDatabase` is the default,
`postgres.PostgresDatabase` the one for a team (`open_store` picks by `database_url`). One
`Store` belongs to one thread: stages hand network and CPU work to worker threads
and write the results back from the thread that owns the store.
"""

from __future__ import annotations

from pathlib import Path

from ..settings import Settings
from .db import Database, StoreError
from .digests import Digests
from .episodes import EPISODE_STATES, Episodes
from .insights import Insights
from .leases import dead_holder, holder_name
from .outbox import Outbox
from .people import UNSUBSCRIBED, People
from .rows import iso, now
from .runs import KEEP_RUNS, Runs
from .schema import migrate, migrations, schema_version
from .shows import Shows
from .sqlite import SqliteDatabase
from .transcripts import Transcripts

__all__ = [
    "EPISODE_STATES",
    "KEEP_RUNS",
    "UNSUBSCRIBED",
    "Database",
    "Store",
    "StoreError",
    "dead_holder",
    "holder_name",
    "iso",
    "migrations",
    "now",
    "open_store",
]


class Store:
    """All of podsift's state. Open with `Store.open(path)`; use as a context manager to close."""

    def __init__(self, db: Database):
        self.db = db
        self.people = People(db)
        self.shows = Shows(db)
        self.episodes = Episodes(db)
        self.transcripts = Transcripts(db, self.episodes)
        self.insights = Insights(db, self.episodes, self.transcripts)
        self.digests = Digests(db, self.insights)
        self.outbox = Outbox(db)
        self.runs = Runs(db)

    @classmethod
    def open(cls, path: Path) -> "Store":
        """Open (creating if needed) the SQLite store at `path` and bring its schema up to date."""
        return cls.over(SqliteDatabase(path))

    @classmethod
    def over(cls, db: Database) -> "Store":
        """The store on an open database, its schema brought up to date."""
        migrate(db)
        return cls(db)

    def schema_version(self) -> int:
        return schema_version(self.db)

    def transaction(self):
        """A context manager: the store's changes inside it commit together, or none do."""
        return self.db.transaction()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(settings: Settings) -> Store:
    """The store `settings` name: Postgres at `database_url`, else SQLite under PODSIFT_HOME."""
    if settings.database_url:
        from .postgres import PostgresDatabase  # only a Postgres install needs psycopg

        return Store.over(PostgresDatabase(settings.database_url))
    return Store.open(settings.db_path)
