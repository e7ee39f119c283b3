"""What the service has been doing: named locks (one daily job at a time) and runs (each scan,
daily job and scheduler, with its heartbeat, outcome and last error)."""

from __future__ import annotations

from ..models import Run
from . import rows
from .db import Database
from .leases import dead_holder
from .rows import now

KEEP_RUNS = 500  # of each kind: over a year of daily jobs


class Runs:
    def __init__(self, db: Database):
        self.db = db

    def acquire(self, name: str, holder: str, until: str, at: str) -> bool:
        """Take the named lock until `until`, if it is free, expired at `at`, already ours, or held by a
        process on this machine that has died (as a delivery's claim is)."""
        dead = dead_holder(self.lock_holder(name))
        return bool(
            self.db.execute(
                "INSERT INTO locks (name, holder, until) VALUES (%s, %s, %s) ON CONFLICT (name) DO UPDATE "
                "SET holder = excluded.holder, until = excluded.until "
                "WHERE locks.until <= %s OR locks.holder = excluded.holder OR locks.holder = %s",
                (name, holder, until, at, dead),
            ).rowcount
        )

    def lock_holder(self, name: str) -> str | None:
        return self.db.value("SELECT holder FROM locks WHERE name = %s", (name,))

    def release(self, name: str, holder: str) -> None:
        self.db.execute("DELETE FROM locks WHERE name = %s AND holder = %s", (name, holder))

    def start(self, kind: str, holder: str) -> int:
        """Record that a scan, daily job or scheduler began; only the latest KEEP_RUNS of a kind are kept."""
        stamp = now()
        with self.db.transaction():
            run_id = self.db.insert(
                "INSERT INTO runs (kind, holder, started_at, beat_at) VALUES (%s, %s, %s, %s)",
                (kind, holder, stamp, stamp),
            )
            self.db.execute(
                "DELETE FROM runs WHERE kind = %s AND id NOT IN "
                "(SELECT id FROM runs WHERE kind = %s ORDER BY id DESC LIMIT %s)",
                (kind, kind, KEEP_RUNS),
            )
        return run_id

    def beat(self, run_id: int, summary: str | None = None) -> None:
        """A running scheduler's sign of life, with what it is waiting for."""
        self.db.execute(
            "UPDATE runs SET beat_at = %s, summary = COALESCE(%s, summary) WHERE id = %s", (now(), summary, run_id)
        )

    def error(self, run_id: int, error: str) -> None:
        """An error met by a run that goes on (a scheduler retrying)."""
        stamp = now()
        self.db.execute(
            "UPDATE runs SET error = %s, error_at = %s, beat_at = %s WHERE id = %s", (error, stamp, stamp, run_id)
        )

    def end(self, run_id: int, outcome: str, summary: str = "", error: str | None = None) -> None:
        stamp = now()
        self.db.execute(
            "UPDATE runs SET outcome = %s, summary = %s, beat_at = %s, error = COALESCE(%s, error), "
            "error_at = CASE WHEN CAST(%s AS TEXT) IS NULL THEN error_at ELSE %s END WHERE id = %s",
            (outcome, summary, stamp, error, error, stamp, run_id),
        )

    def latest(self, kind: str) -> Run | None:
        row = self.db.one("SELECT * FROM runs WHERE kind = %s ORDER BY id DESC LIMIT 1", (kind,))
        return rows.run(row) if row else None

    def last_error(self) -> Run | None:
        """The run that met the latest error, of any kind."""
        row = self.db.one("SELECT * FROM runs WHERE error_at IS NOT NULL ORDER BY error_at DESC, id DESC LIMIT 1")
        return rows.run(row) if row else None
