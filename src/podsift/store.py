"""The store: SQLite in WAL mode, schema migrations from the first version, and the queue.

Every stage reads and writes through `Store`; nothing else holds SQL. The SQL is portable
(ISO-8601 text times, JSON text lists, `ON CONFLICT` upserts) so that a Postgres store can
implement the same methods. One `Store` belongs to one thread: stages hand network and CPU work
to worker threads and write the results back from the thread that owns the store.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import sqlite3
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import NotFound, ParseError, PodsiftError
from .models import (
    Delivery,
    Episode,
    FeedItem,
    Recipient,
    Run,
    Segment,
    Show,
    StoredInsight,
    Transcript,
    TranscriptLink,
)
from .search import SentenceHit, passages

EPISODE_STATES = ("skipped", "new", "downloaded", "transcribed", "extracted", "failed")
KEEP_RUNS = 500  # of each kind: over a year of daily jobs
MAX_ID = 2**63 - 1  # SQLite's largest integer: a longer id names nothing (and would overflow the query)
MAX_SEARCH_WORDS = 20
MAX_SENTENCE_HITS = 5000  # sentences a search looks at: common words stop there
UNSUBSCRIBED = "not sent: the recipient unsubscribed first"


def explain(exc: sqlite3.Error, path: Path) -> PodsiftError:
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
    return PodsiftError(f"{why}. Nothing already stored is lost: the unfinished change was rolled back.")


def now() -> str:
    """The current UTC time as the store writes it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def iso(value: datetime | None) -> str | None:
    """A time as the store writes and compares it: ISO-8601 in UTC, to the second (None stays None)."""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else None


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) of every migration shipped with podsift, in order."""
    folder = resources.files("podsift") / "migrations"
    found = sorted((int(f.name.split("_", 1)[0]), f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))
    return found


class Store:
    """All of podsift's state. Open with `Store.open(path)`; use as a context manager to close."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    @classmethod
    def open(cls, path: Path) -> "Store":
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        try:
            _private(path)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise PodsiftError(
                f"cannot open the store at {path} ({exc}); check that PODSIFT_HOME is a writable folder"
            ) from exc
        store = cls(conn)
        store.migrate()
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------

    def schema_version(self) -> int:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return row[0] or 0

    def migrate(self) -> None:
        """Apply every migration newer than the database, each in its own transaction."""
        current = self.schema_version()
        for version, sql in migrations():
            if version <= current:
                continue
            with self.transaction():
                for statement in _statements(sql):
                    self.conn.execute(statement)
                self.conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def transaction(self):
        """A context manager: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""
        return _Transaction(self.conn)

    # -- recipients and subscriptions ---------------------------------------------------------

    def local_recipient(self) -> int:
        """The install's owner, whom the command line acts for: the first recipient, made on first use."""
        row = self.conn.execute("SELECT id FROM recipients ORDER BY id LIMIT 1").fetchone()
        if row:
            return row[0]
        return self.conn.execute("INSERT INTO recipients (name, created_at) VALUES ('you', ?)", (now(),)).lastrowid

    def owner(self) -> int | None:
        """The install's first account: the one who runs it, and sees its status page."""
        row = self.conn.execute("SELECT id FROM recipients ORDER BY id LIMIT 1").fetchone()
        return row[0] if row else None

    def add_recipient(self, email: str, name: str = "", password_hash: str | None = None) -> tuple[Recipient, bool]:
        """Create a recipient, or update the one with this email; returns it and whether it is new.

        The first email given to a single-person install goes to its existing recipient, so the
        shows already followed stay followed."""
        with self.transaction():
            row = self.conn.execute("SELECT id FROM recipients WHERE email = ?", (email,)).fetchone()
            created = row is None
            if row is None:
                row = self.conn.execute(
                    "SELECT id FROM recipients WHERE email IS NULL AND NOT EXISTS "
                    "(SELECT 1 FROM recipients WHERE email IS NOT NULL) ORDER BY id LIMIT 1"
                ).fetchone()
            if row is None:
                recipient_id = self.conn.execute(
                    "INSERT INTO recipients (email, name, created_at) VALUES (?, ?, ?)", (email, name, now())
                ).lastrowid
            else:
                recipient_id = row[0]
            self.conn.execute(
                "UPDATE recipients SET email = ?, name = CASE WHEN ? != '' THEN ? ELSE name END WHERE id = ?",
                (email, name, name, recipient_id),
            )
            if password_hash:
                self._replace_password(recipient_id, password_hash)
        return self.recipient(recipient_id), created

    def recipient(self, recipient_id: int) -> Recipient:
        row = self._one("SELECT * FROM recipients WHERE id = ?", (recipient_id,), f"no recipient {recipient_id}")
        return _recipient(row)

    def recipient_by_email(self, email: str) -> Recipient:
        missing = f"no recipient with email {email}; add one with `podsift user add {email}`"
        return _recipient(self._one("SELECT * FROM recipients WHERE email = ?", (email,), missing))

    def set_interests(self, recipient_id: int, interests: list[str]) -> None:
        """A recipient's own interests, which the digest lifts (instead of the install's)."""
        self.conn.execute("UPDATE recipients SET interests = ? WHERE id = ?", (json.dumps(interests), recipient_id))

    def recipients(self) -> list[Recipient]:
        """Everyone, in the order they were added."""
        return [_recipient(r) for r in self.conn.execute("SELECT * FROM recipients ORDER BY id")]

    def people(self) -> list[tuple[Recipient, int, str | None]]:
        """Everyone, in the order they were added, with how many shows each follows and the last
        day whose digest was emailed to them (None: never)."""
        rows = self.conn.execute(
            "SELECT r.*, (SELECT count(*) FROM subscriptions s WHERE s.recipient_id = r.id) AS shows, "
            "(SELECT max(d.day) FROM deliveries d WHERE d.recipient_id = r.id AND d.status = 'sent') AS last_sent "
            "FROM recipients r ORDER BY r.id"
        )
        return [(_recipient(r), r["shows"], r["last_sent"]) for r in rows]

    def set_password(self, recipient_id: int, password_hash: str) -> None:
        """A new web password, which ends every session the old one opened."""
        with self.transaction():
            self._replace_password(recipient_id, password_hash)

    def _replace_password(self, recipient_id: int, password_hash: str) -> None:
        """Inside a transaction: the new hash, and no session left that the old password opened."""
        self.conn.execute("UPDATE recipients SET password_hash = ? WHERE id = ?", (password_hash, recipient_id))
        self.conn.execute("DELETE FROM sessions WHERE recipient_id = ?", (recipient_id,))

    def remove_recipient(self, recipient_id: int) -> None:
        """Forget a person: their subscriptions, digests, outbox, votes and sessions go with them.
        Transcripts and insights stay: they belong to the shows, which others may follow."""
        if recipient_id == self.owner():
            raise PodsiftError(
                f"{self.recipient(recipient_id).email or 'the first recipient'} is the install's owner (its first "
                "account), whom the command line acts for, and cannot be removed (to start afresh, move "
                "$PODSIFT_HOME away)"
            )
        self.conn.execute("DELETE FROM recipients WHERE id = ?", (recipient_id,))

    def set_schedule(self, recipient_id: int, timezone: str | None, delivery_time: str | None) -> None:
        """A recipient's own time zone and delivery time: None keeps what they have, "" goes back
        to the install's."""
        self.conn.execute(
            "UPDATE recipients SET timezone = CASE WHEN ? IS NULL THEN timezone ELSE NULLIF(?, '') END, "
            "delivery_time = CASE WHEN ? IS NULL THEN delivery_time ELSE NULLIF(?, '') END WHERE id = ?",
            (timezone, timezone, delivery_time, delivery_time, recipient_id),
        )

    def mail_recipients(self) -> list[Recipient]:
        """Recipients with an email address who have not unsubscribed."""
        rows = self.conn.execute(
            "SELECT * FROM recipients WHERE email IS NOT NULL AND unsubscribed_at IS NULL ORDER BY id"
        )
        return [_recipient(r) for r in rows]

    def unsubscribe_email(self, recipient_id: int) -> None:
        """Send this recipient no more email (the one-click unsubscribe), nor what the outbox still owes them."""
        with self.transaction():
            self.conn.execute(
                "UPDATE recipients SET unsubscribed_at = COALESCE(unsubscribed_at, ?) WHERE id = ?",
                (now(), recipient_id),
            )
            self.conn.execute(
                "UPDATE deliveries SET status = 'cancelled', error = ?, next_attempt_at = NULL "
                "WHERE recipient_id = ? AND status IN ('pending', 'sending')",
                (UNSUBSCRIBED, recipient_id),
            )

    def resubscribe_email(self, recipient_id: int) -> None:
        """Turn a recipient's email back on: their next digest is emailed again."""
        self.conn.execute("UPDATE recipients SET unsubscribed_at = NULL WHERE id = ?", (recipient_id,))

    # -- web sessions -------------------------------------------------------------------------

    def start_session(self, token_hash: str, recipient_id: int) -> None:
        stamp = now()
        self.conn.execute(
            "INSERT INTO sessions (token_hash, recipient_id, created_at, seen_at) VALUES (?, ?, ?, ?)",
            (token_hash, recipient_id, stamp, stamp),
        )

    def session_recipient(self, token_hash: str, seen_since: str, refresh_before: str) -> int | None:
        """Who a live session belongs to: one seen since `seen_since`; its last sighting moves on
        when older than `refresh_before` (not at every request: that would be a write per page)."""
        row = self.conn.execute(
            "SELECT recipient_id, seen_at FROM sessions WHERE token_hash = ? AND seen_at >= ?", (token_hash, seen_since)
        ).fetchone()
        if row is None:
            return None
        if row[1] < refresh_before:
            self.conn.execute("UPDATE sessions SET seen_at = ? WHERE token_hash = ?", (now(), token_hash))
        return row[0]

    def end_session(self, token_hash: str) -> None:
        self.conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    # -- the outbox ---------------------------------------------------------------------------

    def queue_delivery(
        self, recipient_id: int, day: str, channel: str, digest_id: int | None, message_id: str
    ) -> Delivery:
        """The outbox row for (recipient, day, channel), written once; later calls return it as it is,
        but for naming the digest it carries when an unsent row has lost it (a rebuilt digest)."""
        self.conn.execute(
            "INSERT INTO deliveries (recipient_id, day, channel, digest_id, message_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (recipient_id, day, channel) DO UPDATE "
            "SET digest_id = excluded.digest_id WHERE deliveries.digest_id IS NULL AND deliveries.status != 'sent'",
            (recipient_id, day, channel, digest_id, message_id, now()),
        )
        row = self.conn.execute(
            "SELECT * FROM deliveries WHERE recipient_id = ? AND day = ? AND channel = ?", (recipient_id, day, channel)
        ).fetchone()
        return _delivery(row)

    def delivery(self, delivery_id: int) -> Delivery:
        return _delivery(
            self._one("SELECT * FROM deliveries WHERE id = ?", (delivery_id,), f"no delivery {delivery_id}")
        )

    def claim_delivery(self, delivery_id: int, at: str, lease_until: str, holder: str) -> bool:
        """Take a due delivery for sending; False if it is sent, failed, not due, or another process has it.

        A claim is a lease held by `holder`: a process that dies while sending leaves it to be
        claimed again when the lease ends, or at once by a process on the same machine that sees
        the holder is gone. So a crash between the server's acceptance and the commit sends twice."""
        row = self.conn.execute(
            "SELECT claimed_by FROM deliveries WHERE id = ? AND status = 'sending'", (delivery_id,)
        ).fetchone()
        dead = dead_holder(row[0]) if row else ""
        return bool(
            self.conn.execute(
                "UPDATE deliveries SET status = 'sending', next_attempt_at = ?, claimed_by = ?, "
                "attempts = attempts + 1 WHERE id = ? AND status IN ('pending', 'sending') "
                "AND (next_attempt_at IS NULL OR next_attempt_at <= ? OR claimed_by = ?)",
                (lease_until, holder, delivery_id, at, dead),
            ).rowcount
        )

    def unsent_deliveries(self) -> list[Delivery]:
        """Outbox rows still to send: waiting for a retry, or claimed by a process that may have died."""
        rows = self.conn.execute("SELECT * FROM deliveries WHERE status IN ('pending', 'sending') ORDER BY day, id")
        return [_delivery(r) for r in rows]

    def delivery_sent(self, delivery_id: int) -> None:
        self.conn.execute(
            "UPDATE deliveries SET status = 'sent', sent_at = ?, error = NULL, next_attempt_at = NULL WHERE id = ?",
            (now(), delivery_id),
        )

    def retry_now(self, delivery_id: int) -> Delivery:
        """Send a failed or waiting email again at the next pass of the outbox (the scheduler's, or
        `podsift run`'s); one already sent, or cancelled because its recipient left, stays as it is."""
        self.conn.execute(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = NULL WHERE id = ? AND status IN "
            "('failed', 'pending')",
            (delivery_id,),
        )
        return self.delivery(delivery_id)

    def delivery_retry(self, delivery_id: int, error: str, retry_at: str) -> None:
        self.conn.execute(
            "UPDATE deliveries SET status = 'pending', error = ?, next_attempt_at = ? WHERE id = ?",
            (error, retry_at, delivery_id),
        )

    def delivery_cancelled(self, delivery_id: int, why: str) -> None:
        """An owed email that will not be sent (its recipient unsubscribed): no longer owed."""
        self.conn.execute(
            "UPDATE deliveries SET status = 'cancelled', error = ?, next_attempt_at = NULL WHERE id = ?",
            (why, delivery_id),
        )

    def delivery_failed(self, delivery_id: int, error: str) -> None:
        self.conn.execute(
            "UPDATE deliveries SET status = 'failed', error = ?, next_attempt_at = NULL WHERE id = ?",
            (error, delivery_id),
        )

    def deliveries(self, day: str | None = None) -> list[Delivery]:
        """Outbox rows, newest day first."""
        where, args = ("WHERE day = ?", (day,)) if day else ("", ())
        rows = self.conn.execute(f"SELECT * FROM deliveries {where} ORDER BY day DESC, recipient_id", args)
        return [_delivery(r) for r in rows]

    def subscribe(self, recipient_id: int, feed_url: str, title: str = "") -> tuple[Show, bool]:
        """Follow a feed; returns the show and whether this recipient newly follows it."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO shows (feed_url, title, created_at) VALUES (?, ?, ?) ON CONFLICT (feed_url) DO NOTHING",
                (feed_url, title, now()),
            )
            show_id = self.conn.execute("SELECT id FROM shows WHERE feed_url = ?", (feed_url,)).fetchone()[0]
            # Subscribing again is how a user says "try this paused feed again".
            self.conn.execute(
                "UPDATE shows SET paused = 0, error_count = 0, next_check_at = NULL WHERE id = ? AND paused = 1",
                (show_id,),
            )
            added = self.conn.execute(
                "INSERT INTO subscriptions (recipient_id, show_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (recipient_id, show_id) DO NOTHING",
                (recipient_id, show_id, now()),
            ).rowcount
        return self.show(show_id), bool(added)

    def unsubscribe(self, recipient_id: int, feed_url: str) -> bool:
        """Stop following a feed. The show and its transcripts stay for anyone else who follows it."""
        show = self.show_by_url(feed_url)
        return bool(
            self.conn.execute(
                "DELETE FROM subscriptions WHERE recipient_id = ? AND show_id = ?", (recipient_id, show.id)
            ).rowcount
        )

    # -- shows --------------------------------------------------------------------------------

    _SHOW_SQL = "SELECT s.*, (SELECT COUNT(*) FROM episodes e WHERE e.show_id = s.id) AS episode_count FROM shows s"

    def show(self, show_id: int) -> Show:
        return _show(self._one(f"{self._SHOW_SQL} WHERE s.id = ?", (show_id,), f"no show with id {show_id}"))

    def show_by_url(self, feed_url: str) -> Show:
        missing = f"not subscribed to {feed_url}; `podsift feeds` lists your subscriptions"
        return _show(self._one(f"{self._SHOW_SQL} WHERE s.feed_url = ?", (feed_url,), missing))

    def _one(self, sql: str, args: tuple, missing: str) -> sqlite3.Row:
        """The one row a query finds, or NotFound with a message that says what to do."""
        row = self.conn.execute(sql, args).fetchone()
        if row is None:
            raise NotFound(missing)
        return row

    def shows(self, recipient_id: int | None = None) -> list[Show]:
        """Shows a recipient follows, or every followed show when `recipient_id` is None."""
        where = "WHERE s.id IN (SELECT show_id FROM subscriptions"
        where += " WHERE recipient_id = ?)" if recipient_id is not None else ")"
        args = (recipient_id,) if recipient_id is not None else ()
        return [_show(r) for r in self.conn.execute(f"{self._SHOW_SQL} {where} ORDER BY s.title, s.id", args)]

    def record_fetch(
        self, show_id: int, status: int, etag: str | None = None, last_modified: str | None = None
    ) -> None:
        """Remember a good fetch: validators for the next conditional GET; errors and backoff are cleared."""
        self.conn.execute(
            "UPDATE shows SET last_checked_at = ?, last_status = ?, error = NULL, error_count = 0, "
            "next_check_at = NULL, etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified) "
            "WHERE id = ?",
            (now(), status, etag, last_modified, show_id),
        )

    def record_feed_error(self, show_id: int, status: int, error: str, next_check_at: str | None, pause: bool) -> None:
        """Remember a failed fetch: the message, one more in the count, when to try next, or a pause."""
        self.conn.execute(
            "UPDATE shows SET last_checked_at = ?, last_status = ?, error = ?, error_count = error_count + 1, "
            "next_check_at = ?, paused = CASE WHEN ? THEN 1 ELSE paused END WHERE id = ?",
            (now(), status, error, next_check_at, pause, show_id),
        )

    def update_show_details(
        self, show_id: int, title: str, link: str, description: str, author: str, image: str, language: str
    ) -> None:
        self.conn.execute(
            "UPDATE shows SET title = ?, link = ?, description = ?, author = ?, image = ?, language = ? WHERE id = ?",
            (title, link, description, author, image, language, show_id),
        )

    def move_show(self, show_id: int, new_url: str) -> None:
        """The feed moved for good: keep its history under the new URL, unless that is already a show."""
        taken = self.conn.execute("SELECT id FROM shows WHERE feed_url = ?", (new_url,)).fetchone()
        if not taken:
            self.conn.execute(
                "UPDATE shows SET feed_url = ?, etag = NULL, last_modified = NULL WHERE id = ?", (new_url, show_id)
            )

    # -- episodes -----------------------------------------------------------------------------

    def find_episode(self, show_id: int, guid: str, audio_url: str) -> int | None:
        """The stored episode an item is: same guid, else same audio (a feed that changed its guids)."""
        row = self.conn.execute("SELECT id FROM episodes WHERE show_id = ? AND guid = ?", (show_id, guid)).fetchone()
        row = (
            row
            or self.conn.execute(
                "SELECT id FROM episodes WHERE show_id = ? AND audio_url = ?", (show_id, audio_url)
            ).fetchone()
        )
        return row[0] if row else None

    def has_episodes(self, show_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM episodes WHERE show_id = ? LIMIT 1", (show_id,)).fetchone() is not None

    def add_episode(self, show_id: int, item: FeedItem, state: str) -> int:
        """Store a new feed item. One without a readable date is dated when podsift first saw it:
        otherwise it would belong to no day, and reach no digest."""
        stamp = now()
        columns = ("show_id", "guid", *_ITEM_COLUMNS, "published_at", "duration", "soundbites", "persons", "state")
        values = (
            show_id,
            item.guid,
            *_item_values(item),
            iso(item.published) or stamp,
            item.duration,
            json.dumps([asdict(b) for b in item.soundbites]),
            json.dumps([asdict(p) for p in item.persons]),
            state,
        )
        return self.conn.execute(
            f"INSERT INTO episodes ({', '.join(columns)}, created_at, updated_at) "
            f"VALUES ({', '.join('?' for _ in columns)}, ?, ?)",
            (*values, stamp, stamp),
        ).lastrowid

    def refresh_episode(self, episode_id: int, item: FeedItem) -> None:
        """Take a re-published item's current details; its identity and state stay."""
        self.conn.execute(
            f"UPDATE episodes SET {', '.join(f'{c} = ?' for c in _ITEM_COLUMNS)}, "
            "duration = CASE WHEN ? > 0 THEN ? ELSE duration END, updated_at = ? WHERE id = ?",
            (*_item_values(item), item.duration, item.duration, now(), episode_id),
        )

    def lookup_episode(self, ref: str) -> Episode:
        """An episode by id, guid or the start of its title, as a user types it on the command line."""
        if ref.isdigit() and int(ref) <= MAX_ID:
            row = self.conn.execute(f"{_EPISODE_SQL} WHERE e.id = ?", (int(ref),)).fetchone()
            if row:
                return _episode(row)
        rows = self.conn.execute(f"{_EPISODE_SQL} WHERE e.guid = ? ORDER BY e.id", (ref,)).fetchall()
        if not rows:
            prefix = ref.lower().replace("%", "") + "%"
            rows = self.conn.execute(f"{_EPISODE_SQL} WHERE LOWER(e.title) LIKE ? ORDER BY e.id", (prefix,)).fetchall()
        if len(rows) == 1:
            return _episode(rows[0])
        if not rows:
            raise NotFound(f"no episode matches {ref!r}; `podsift episodes` lists ids, guids and titles")
        names = "; ".join(f"{r['id']}: {r['title']}" for r in rows[:5])
        raise NotFound(f"{len(rows)} episodes match {ref!r} ({names}); give the id instead")

    def episodes(
        self,
        states: tuple[str, ...] = (),
        show_id: int | None = None,
        since: datetime | None = None,
        recipient_id: int | None = None,
        followed: bool = False,
    ) -> list[Episode]:
        """Episodes filtered by state, show, publication time and follower, oldest first.

        `followed` keeps only shows somebody still follows."""
        clauses, args = [], []
        if states:
            clauses.append(f"e.state IN ({', '.join('?' * len(states))})")
            args += list(states)
        if show_id is not None:
            clauses.append("e.show_id = ?")
            args.append(show_id)
        if since is not None:
            clauses.append("e.published_at >= ?")
            args.append(iso(since))
        if recipient_id is not None:
            clauses.append("e.show_id IN (SELECT show_id FROM subscriptions WHERE recipient_id = ?)")
            args.append(recipient_id)
        if followed:
            clauses.append("e.show_id IN (SELECT show_id FROM subscriptions)")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.conn.execute(f"{_EPISODE_SQL} {where} ORDER BY e.published_at, e.id", args)
        return [_episode(r) for r in rows]

    def set_state(self, episode_id: int, state: str, audio_path: str | None = None, release: bool = False) -> None:
        """Move an episode on; a success clears the error of an earlier attempt. With `release`,
        the claim on it ends too: a stage is finished and the next may be taken by anyone."""
        assert state in EPISODE_STATES, state
        self.conn.execute(
            "UPDATE episodes SET state = ?, audio_path = ?, error = NULL, updated_at = ?, "
            "claimed_by = CASE WHEN ? THEN NULL ELSE claimed_by END WHERE id = ?",
            (state, audio_path, now(), release, episode_id),
        )

    def fail(self, episode_id: int, error: str) -> None:
        """Record a failed attempt, ending its claim; later scans retry it until attempts run out."""
        self.conn.execute(
            "UPDATE episodes SET state = 'failed', error = ?, attempts = attempts + 1, "
            "audio_path = NULL, updated_at = ?, claimed_by = NULL WHERE id = ?",
            (error, now(), episode_id),
        )

    # -- claims: who works on an episode ------------------------------------------------------

    def claimable(self, states: tuple[str, ...], at: str) -> list[Episode]:
        """Episodes of followed shows in `states` that no live process holds, oldest first."""
        placeholders = ", ".join("?" * len(states))
        rows = self.conn.execute(
            f"{_EPISODE_SQL} WHERE e.state IN ({placeholders}) AND e.show_id IN (SELECT show_id FROM subscriptions) "
            "ORDER BY e.published_at, e.id",
            states,
        )
        return [_episode(r) for r in rows if _free(r["claimed_by"], r["claimed_until"], at)]

    def claim(self, episode_id: int, states: tuple[str, ...], holder: str, until: str, at: str) -> bool:
        """Take an episode in one of `states` for work until `until`; False if a live process holds it.

        A claim is a lease: the holder renews it while it works (`renew_claims`), and a holder
        that dies leaves it to be taken when the lease ends, or at once by a process on the same
        machine that sees the holder is gone."""
        row = self.conn.execute("SELECT claimed_by FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        dead = dead_holder(row[0]) if row else ""
        placeholders = ", ".join("?" * len(states))
        return bool(
            self.conn.execute(
                f"UPDATE episodes SET claimed_by = ?, claimed_until = ? WHERE id = ? AND state IN ({placeholders}) "
                "AND (claimed_by IS NULL OR claimed_until <= ? OR claimed_by = ?)",
                (holder, until, episode_id, *states, at, dead),
            ).rowcount
        )

    def renew_claims(self, holder: str, until: str) -> None:
        """Extend every claim `holder` has: it is still at work."""
        self.conn.execute("UPDATE episodes SET claimed_until = ? WHERE claimed_by = ?", (until, holder))

    def release_claims(self, holder: str, episode_id: int | None = None) -> None:
        """End `holder`'s claim on one episode, or on all it has (a scan that stops)."""
        where, args = ("AND id = ?", (episode_id,)) if episode_id is not None else ("", ())
        self.conn.execute(f"UPDATE episodes SET claimed_by = NULL WHERE claimed_by = ? {where}", (holder, *args))

    def others_at_work(self, holder: str, at: str) -> dict[str, int]:
        """Live processes other than `holder` working on queued episodes: holder -> episodes held."""
        rows = self.conn.execute(
            "SELECT claimed_by, claimed_until FROM episodes WHERE claimed_by IS NOT NULL AND claimed_by != ? "
            "AND state IN ('new', 'downloaded', 'transcribed')",
            (holder,),
        ).fetchall()
        held: dict[str, int] = {}
        for by, until in rows:
            if not _free(by, until, at):
                held[by] = held.get(by, 0) + 1
        return held

    def requeue(self, states: tuple[str, ...], since: datetime, max_attempts: int) -> int:
        """Put skipped episodes published since `since`, and failed ones with attempts left, back in
        the queue: 'transcribed' for one whose transcript is stored (its insights failed), else 'new'."""
        placeholders = ", ".join("?" * len(states))
        return self.conn.execute(
            "UPDATE episodes SET state = CASE WHEN EXISTS "
            "(SELECT 1 FROM transcripts t WHERE t.episode_id = episodes.id) THEN 'transcribed' ELSE 'new' END, "
            f"updated_at = ? WHERE state IN ({placeholders}) "
            "AND (state != 'failed' OR attempts < ?) AND (state = 'failed' OR published_at >= ?) "
            "AND show_id IN (SELECT show_id FROM subscriptions)",
            (now(), *states, max_attempts, iso(since)),
        ).rowcount

    # -- transcripts --------------------------------------------------------------------------

    def save_transcript(self, episode_id: int, transcript: Transcript, work_seconds: float = 0.0) -> None:
        """Store an episode's transcript and mark it transcribed, in one transaction."""
        segments = json.dumps([[s.start, s.end, s.speaker, s.text] for s in transcript.segments], ensure_ascii=False)
        with self.transaction():
            added = self.conn.execute(
                "INSERT INTO transcripts (episode_id, source, format, language, model, segments, audio_seconds, "
                "work_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (episode_id) DO NOTHING",
                (
                    episode_id,
                    transcript.source,
                    transcript.format,
                    transcript.language,
                    transcript.model,
                    segments,
                    transcript.duration,
                    work_seconds,
                    now(),
                ),
            ).rowcount
            if added:  # a transcript stored already keeps its sentences in the index once
                self.conn.executemany(
                    "INSERT INTO search (kind, ref, episode_id, text) VALUES ('sentence', ?, ?, ?)",
                    [(seg.start, episode_id, seg.text) for seg in transcript.segments],
                )
            self.set_state(episode_id, "transcribed", release=True)

    def transcript(self, episode_id: int) -> Transcript:
        row = self.conn.execute("SELECT * FROM transcripts WHERE episode_id = ?", (episode_id,)).fetchone()
        if row is None:
            raise NotFound(f"episode {episode_id} has no transcript yet; run `podsift scan`")
        segments = [Segment(start, end, text, speaker) for start, end, speaker, text in json.loads(row["segments"])]
        return Transcript(
            segments=segments, source=row["source"], format=row["format"], language=row["language"], model=row["model"]
        )

    # -- insights -----------------------------------------------------------------------------

    def save_insights(self, episode_id: int, insights: list) -> None:
        """Store an episode's ranked insights and mark it extracted, in one transaction; an episode
        whose insights are stored already keeps them as they are."""
        with self.transaction():
            if self.conn.execute("SELECT 1 FROM insights WHERE episode_id = ? LIMIT 1", (episode_id,)).fetchone():
                insights = []
            for i in insights:
                self.conn.execute(
                    "INSERT INTO insights (episode_id, rank, text, quote, start_s, end_s, score, reasons, embedding, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        episode_id,
                        i.rank,
                        i.text,
                        i.quote,
                        i.start,
                        i.end,
                        i.score,
                        json.dumps(i.reasons),
                        _blob(i.vector),
                        now(),
                    ),
                )
            self.conn.executemany(
                "INSERT INTO search (kind, ref, episode_id, text) SELECT 'insight', id, episode_id, text "
                "FROM insights WHERE episode_id = ? AND rank = ?",
                [(episode_id, i.rank) for i in insights],
            )
            self.set_state(episode_id, "extracted", release=True)

    def insights(
        self,
        episode_ids: list[int] | None = None,
        published: tuple[datetime, datetime] | None = None,
        recipient_id: int | None = None,
    ) -> list[StoredInsight]:
        """Insights by episode, or of episodes published in [start, end) that a recipient follows."""
        clauses, args = [], []
        if episode_ids is not None:
            clauses.append(f"i.episode_id IN ({', '.join('?' * len(episode_ids))})")
            args += episode_ids
        if published is not None:
            clauses.append("e.published_at >= ? AND e.published_at < ?")
            args += [iso(published[0]), iso(published[1])]
        if recipient_id is not None:
            clauses.append("e.show_id IN (SELECT show_id FROM subscriptions WHERE recipient_id = ?)")
            args.append(recipient_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.conn.execute(f"{_INSIGHT_SQL} {where} ORDER BY e.published_at, e.id, i.rank", args)
        return [_insight(r) for r in rows]

    def uncarded(self, ranks: int, since: datetime) -> list[StoredInsight]:
        """The top `ranks` insights of each episode published since `since` that no model has
        edited yet, or whose edit failed last time (the endpoint was down or refused), newest first.
        An insight already sent in a digest is left as it was sent."""
        rows = self.conn.execute(
            f"{_INSIGHT_SQL} WHERE i.rank <= ? AND e.published_at >= ? AND (c.insight_id IS NULL OR "
            f"c.outcome = 'failed') AND i.id NOT IN ({_SENT_INSIGHTS}) ORDER BY e.published_at DESC, e.id, i.rank",
            (ranks, iso(since)),
        )
        return [_insight(r) for r in rows]

    def forget_cards(self, episode_id: int | None = None) -> int:
        """Drop the cards of one episode, or of all, so that the next scan edits those insights
        afresh (with a new model or prompt); returns how many went. The cards of insights already
        sent in a digest stay: the web page and Atom feed keep showing what the email said."""
        where, args = f"insight_id NOT IN ({_SENT_INSIGHTS})", ()
        if episode_id:
            where, args = where + " AND insight_id IN (SELECT id FROM insights WHERE episode_id = ?)", (episode_id,)
        return self.conn.execute(f"DELETE FROM cards WHERE {where}", args).rowcount

    def save_card(self, insight_id: int, model: str, prompt_version: int, outcome: str, **card) -> None:
        """What the model made of one insight: `title`, `text`, `reason`, `tokens`, `seconds`."""
        self.conn.execute(
            "INSERT INTO cards (insight_id, model, prompt_version, outcome, title, text, reason, tokens, seconds, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (insight_id) DO UPDATE SET "
            "model = excluded.model, prompt_version = excluded.prompt_version, outcome = excluded.outcome, "
            "title = excluded.title, text = excluded.text, reason = excluded.reason, tokens = excluded.tokens, "
            "seconds = excluded.seconds, created_at = excluded.created_at",
            (
                insight_id,
                model,
                prompt_version,
                outcome,
                card.get("title"),
                card.get("text"),
                card.get("reason"),
                card.get("tokens", 0),
                card.get("seconds", 0.0),
                now(),
            ),
        )

    def sent_vectors(self, recipient_id: int, before_day: str) -> np.ndarray:
        """The embedding of every insight a recipient's digests before `before_day` carried (duplicates
        heard elsewhere included), one per row: all that ranking needs of a year of history."""
        rows = self.conn.execute(
            "WITH sent(insight_id, also_heard) AS (SELECT di.insight_id, di.also_heard FROM digest_items di "
            "  JOIN digests d ON d.id = di.digest_id WHERE d.recipient_id = ? AND d.day < ?), "
            "ids(id) AS (SELECT insight_id FROM sent UNION ALL SELECT j.value FROM sent, json_each(sent.also_heard) j) "
            "SELECT i.embedding FROM ids JOIN insights i ON i.id = ids.id WHERE i.embedding IS NOT NULL",
            (recipient_id, before_day),
        ).fetchall()
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(len(rows), -1)

    def insights_by_id(self, ids: list[int]) -> list[StoredInsight]:
        """Insights in the order of `ids`; ids that no longer exist are left out."""
        ids = [i for i in ids if 0 < i <= MAX_ID]
        if not ids:
            return []
        rows = self.conn.execute(f"{_INSIGHT_SQL} WHERE i.id IN ({', '.join('?' * len(ids))})", ids)
        by_id = {r["id"]: _insight(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def vote(self, recipient_id: int, insight_id: int, vote: int) -> None:
        """Record a thumbs up (1) or down (-1); a second vote replaces the first."""
        if not self.insights_by_id([insight_id]):
            raise NotFound(f"no insight {insight_id}: it may have been removed; reload the page")
        self.conn.execute(
            "INSERT INTO feedback (recipient_id, insight_id, vote, created_at) VALUES (?, ?, ?, ?) ON CONFLICT "
            "(recipient_id, insight_id) DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
            (recipient_id, insight_id, 1 if vote > 0 else -1, now()),
        )

    def votes(self, recipient_id: int) -> dict[int, int]:
        """insight id -> vote, for one recipient."""
        rows = self.conn.execute("SELECT insight_id, vote FROM feedback WHERE recipient_id = ?", (recipient_id,))
        return dict(rows.fetchall())

    def search(self, query: str, recipient_id: int, limit: int = 50) -> list[dict]:
        """Insights that match every word of `query`, then passages of transcript that between
        their sentences do (`search.passages`), in shows the recipient follows.

        Control characters separate words; a query of more than MAX_SEARCH_WORDS is a ParseError
        (matching a thousand phrases takes seconds, and no one means it)."""
        words = [w for w in re.sub(r"[\x00-\x1f\x7f]", " ", query).split() if w.strip('"')]
        if len(words) > MAX_SEARCH_WORDS:
            raise ParseError(f"search at most {MAX_SEARCH_WORDS} words at a time; this query has {len(words)}")
        if not words:
            return []
        quoted = ['"' + w.replace('"', '""') + '"' for w in words]  # words, never FTS syntax
        followed = "f.episode_id IN (SELECT e.id FROM episodes e JOIN subscriptions s ON s.show_id = e.show_id "
        followed += "WHERE s.recipient_id = ?)"
        rows = self.conn.execute(
            "SELECT 'insight' AS kind, f.ref, snippet(search, 3, char(2), char(3), ' ... ', 16) AS snippet, "
            f"f.episode_id FROM search f WHERE search MATCH ? AND f.kind = 'insight' AND {followed} ORDER BY rank "
            "LIMIT ?",
            (" ".join(quoted), recipient_id, limit),
        )
        found = [dict(r) for r in rows]
        hits = self._sentence_hits(quoted, followed, recipient_id)
        texts: dict[int, list] = {}
        for passage in passages(hits, len(words), limit):
            if passage.episode_id not in texts:
                texts[passage.episode_id] = self.transcript(passage.episode_id).segments
            snippet = passage.text(texts[passage.episode_id])
            found.append(
                {"kind": "passage", "ref": passage.start, "snippet": snippet, "episode_id": passage.episode_id}
            )
        titles = {
            r[0]: (r[1], r[2])
            for r in self.conn.execute(
                "SELECT e.id, e.title, s.title FROM episodes e JOIN shows s ON s.id = e.show_id WHERE e.id IN "
                "(SELECT value FROM json_each(?))",
                (json.dumps(sorted({f["episode_id"] for f in found})),),
            )
        }
        for f in found:
            f["episode_title"], f["show_title"] = titles[f["episode_id"]]
        return found

    def _sentence_hits(self, quoted: list[str], followed: str, recipient_id: int) -> list[SentenceHit]:
        """Transcript sentences that contain any of the quoted words, each with the words it contains."""
        rows = self.conn.execute(
            "SELECT f.rowid, f.ref, f.episode_id, highlight(search, 3, char(2), char(3)), rank FROM search f "
            f"WHERE search MATCH ? AND f.kind = 'sentence' AND {followed} ORDER BY rank LIMIT {MAX_SENTENCE_HITS}",
            (" OR ".join(quoted), recipient_id),
        ).fetchall()
        ids = json.dumps([r[0] for r in rows])
        contains = [
            {
                r[0]
                for r in self.conn.execute(
                    "SELECT rowid FROM search WHERE search MATCH ? AND rowid IN (SELECT value FROM json_each(?))",
                    (w, ids),
                )
            }
            for w in quoted
        ]
        return [
            SentenceHit(
                episode, float(ref), marked, frozenset(i for i, has in enumerate(contains) if rowid in has), rank
            )
            for rowid, ref, episode, marked, rank in rows
        ]

    # -- the daily job ------------------------------------------------------------------------

    def acquire(self, name: str, holder: str, until: str, at: str) -> bool:
        """Take the named lock until `until`, if it is free, expired at `at`, already ours, or held by a
        process on this machine that has died (as a delivery's claim is)."""
        dead = dead_holder(self.lock_holder(name))
        return bool(
            self.conn.execute(
                "INSERT INTO locks (name, holder, until) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                "SET holder = excluded.holder, until = excluded.until "
                "WHERE locks.until <= ? OR locks.holder = excluded.holder OR locks.holder = ?",
                (name, holder, until, at, dead),
            ).rowcount
        )

    def lock_holder(self, name: str) -> str | None:
        row = self.conn.execute("SELECT holder FROM locks WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def release(self, name: str, holder: str) -> None:
        self.conn.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, holder))

    def finish_day(self, recipient_id: int, day: str) -> None:
        """Record that a recipient's job for `day` is done."""
        self.conn.execute(
            "INSERT INTO recipient_days (recipient_id, day, finished_at) VALUES (?, ?, ?) "
            "ON CONFLICT (recipient_id, day) DO NOTHING",
            (recipient_id, day, now()),
        )

    def last_finished_day(self, recipient_id: int) -> str | None:
        return self.conn.execute(
            "SELECT MAX(day) FROM recipient_days WHERE recipient_id = ?", (recipient_id,)
        ).fetchone()[0]

    # -- runs: what the service has been doing ------------------------------------------------

    def start_run(self, kind: str, holder: str) -> int:
        """Record that a scan, daily job or scheduler began; only the latest KEEP_RUNS of a kind are kept."""
        stamp = now()
        with self.transaction():
            run_id = self.conn.execute(
                "INSERT INTO runs (kind, holder, started_at, beat_at) VALUES (?, ?, ?, ?)", (kind, holder, stamp, stamp)
            ).lastrowid
            self.conn.execute(
                "DELETE FROM runs WHERE kind = ? AND id NOT IN "
                "(SELECT id FROM runs WHERE kind = ? ORDER BY id DESC LIMIT ?)",
                (kind, kind, KEEP_RUNS),
            )
        return run_id

    def beat(self, run_id: int, summary: str | None = None) -> None:
        """A running scheduler's sign of life, with what it is waiting for."""
        self.conn.execute(
            "UPDATE runs SET beat_at = ?, summary = COALESCE(?, summary) WHERE id = ?", (now(), summary, run_id)
        )

    def run_error(self, run_id: int, error: str) -> None:
        """An error met by a run that goes on (a scheduler retrying)."""
        stamp = now()
        self.conn.execute(
            "UPDATE runs SET error = ?, error_at = ?, beat_at = ? WHERE id = ?", (error, stamp, stamp, run_id)
        )

    def end_run(self, run_id: int, outcome: str, summary: str = "", error: str | None = None) -> None:
        stamp = now()
        self.conn.execute(
            "UPDATE runs SET outcome = ?, summary = ?, beat_at = ?, error = COALESCE(?, error), "
            "error_at = CASE WHEN ? IS NULL THEN error_at ELSE ? END WHERE id = ?",
            (outcome, summary, stamp, error, error, stamp, run_id),
        )

    def latest_run(self, kind: str) -> Run | None:
        row = self.conn.execute("SELECT * FROM runs WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)).fetchone()
        return _build(Run, row) if row else None

    def last_error(self) -> Run | None:
        """The run that met the latest error, of any kind."""
        row = self.conn.execute(
            "SELECT * FROM runs WHERE error_at IS NOT NULL ORDER BY error_at DESC, id DESC LIMIT 1"
        ).fetchone()
        return _build(Run, row) if row else None

    def episode_counts(self) -> dict[str, int]:
        """Episodes of followed shows by state."""
        rows = self.conn.execute(
            "SELECT state, COUNT(*) FROM episodes WHERE show_id IN (SELECT show_id FROM subscriptions) GROUP BY state"
        )
        return dict(rows.fetchall())

    def retryable(self, max_attempts: int) -> int:
        """Failed episodes of followed shows that a later scan tries again."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM episodes WHERE state = 'failed' AND attempts < ? "
            "AND show_id IN (SELECT show_id FROM subscriptions)",
            (max_attempts,),
        ).fetchone()[0]

    # -- digests ------------------------------------------------------------------------------

    def digest(self, recipient_id: int, day: str) -> tuple[int, list[tuple[StoredInsight, list[StoredInsight]]]] | None:
        """A stored digest's id and items in rank order, each with the same idea heard on other
        shows; None if none is stored."""
        row = self.conn.execute(
            "SELECT id FROM digests WHERE recipient_id = ? AND day = ?", (recipient_id, day)
        ).fetchone()
        if row is None:
            return None
        items = self.conn.execute(
            "SELECT insight_id, also_heard FROM digest_items WHERE digest_id = ? ORDER BY rank", (row[0],)
        ).fetchall()
        return row[0], [(self.insights_by_id([i])[0], self.insights_by_id(json.loads(also))) for i, also in items]

    def digest_days(self, recipient_id: int, limit: int = 30, with_items: bool = False) -> list[tuple[str, str]]:
        """(day, built at) of a recipient's stored digests, newest first; `with_items` leaves out quiet days."""
        having = "AND EXISTS (SELECT 1 FROM digest_items i WHERE i.digest_id = d.id)" if with_items else ""
        rows = self.conn.execute(
            f"SELECT day, created_at FROM digests d WHERE recipient_id = ? {having} ORDER BY day DESC LIMIT ?",
            (recipient_id, limit),
        )
        return [(r[0], r[1]) for r in rows]

    def save_digest(
        self, recipient_id: int, day: str, items: list[tuple[int, list[int]]], replace: bool = False
    ) -> int:
        """Store a recipient's digest for a day and return its id. One stored already (by another
        process, a moment ago) is kept as it is, unless `replace` (`podsift digest --rebuild`)."""
        with self.transaction():
            if replace:
                self.conn.execute("DELETE FROM digests WHERE recipient_id = ? AND day = ?", (recipient_id, day))
            added = self.conn.execute(
                "INSERT INTO digests (recipient_id, day, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (recipient_id, day) DO NOTHING",
                (recipient_id, day, now()),
            ).rowcount
            digest_id = self.conn.execute(
                "SELECT id FROM digests WHERE recipient_id = ? AND day = ?", (recipient_id, day)
            ).fetchone()[0]
            if added:
                self.conn.executemany(
                    "INSERT INTO digest_items (digest_id, rank, insight_id, also_heard) VALUES (?, ?, ?, ?)",
                    [(digest_id, rank, i, json.dumps(also)) for rank, (i, also) in enumerate(items, 1)],
                )
        return digest_id

    def unsettled(self, recipient_id: int, start: datetime, end: datetime) -> str:
        """What may still bring insights into a recipient's day [start, end), or "" when nothing can:
        a working feed they follow (not paused, not failing) not checked since the day ended, or an
        episode of that day still being fetched, transcribed or extracted."""
        unchecked = self.conn.execute(
            "SELECT COUNT(*) FROM shows WHERE id IN (SELECT show_id FROM subscriptions WHERE recipient_id = ?) "
            "AND paused = 0 AND error IS NULL AND (last_checked_at IS NULL OR last_checked_at < ?)",
            (recipient_id, iso(end)),
        ).fetchone()[0]
        pending = self.conn.execute(
            "SELECT COUNT(*) FROM episodes WHERE show_id IN (SELECT show_id FROM subscriptions WHERE recipient_id = ?) "
            "AND state IN ('new', 'downloaded', 'transcribed') AND published_at >= ? AND published_at < ?",
            (recipient_id, iso(start), iso(end)),
        ).fetchone()[0]
        if unchecked:
            return f"{unchecked} of your feeds have not been checked since the day ended"
        if pending:
            return f"{pending} episode(s) of that day are still being transcribed or read"
        return ""


# The columns a feed item sets when first seen and again when re-published, in _item_values' order.
_ITEM_COLUMNS = (
    "title",
    "description",
    "link",
    "audio_url",
    "audio_type",
    "audio_bytes",
    "audio_integrity",
    "transcript_links",
)


def _item_values(item: FeedItem) -> tuple:
    return (
        item.title,
        item.description,
        item.link,
        item.audio_url,
        item.audio_type,
        item.audio_bytes,
        item.audio_integrity,
        _links_json(item.transcripts),
    )


_EPISODE_SQL = "SELECT e.*, s.title AS show_title FROM episodes e JOIN shows s ON s.id = e.show_id"
# Insights that a digest has carried to a reader: their text is what was sent, and stays so.
_SENT_INSIGHTS = (
    "SELECT di.insight_id FROM digest_items di JOIN deliveries d ON d.digest_id = di.digest_id WHERE d.status = 'sent'"
)
_INSIGHT_SQL = (
    "SELECT i.*, e.guid, e.title AS episode_title, e.audio_url, e.show_id, e.published_at, "
    "s.title AS show_title, c.outcome AS card_outcome, c.title AS card_title, c.text AS card_text, "
    "c.model AS card_model, c.reason AS card_reason FROM insights i JOIN episodes e ON e.id = i.episode_id "
    "JOIN shows s ON s.id = e.show_id LEFT JOIN cards c ON c.insight_id = i.id"
)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, exc, tb):
        if kind is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
            self.conn.execute("ROLLBACK")


def _statements(sql: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _links_json(links: list[TranscriptLink]) -> str:
    return json.dumps([asdict(link) for link in links])


def _blob(vector) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def _build(cls, row: sqlite3.Row, **converted):
    """A model from a row: columns named like the model's fields, plus the `converted` ones."""
    columns = set(row.keys())
    values = {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in columns}
    return cls(**{**values, **converted})


def _insight(row: sqlite3.Row) -> StoredInsight:
    vector = np.frombuffer(row["embedding"], dtype=np.float32) if row["embedding"] else None
    accepted, rejected = row["card_outcome"] == "accepted", row["card_outcome"] == "rejected"
    return _build(
        StoredInsight,
        row,
        start=row["start_s"],
        end=row["end_s"],
        reasons=json.loads(row["reasons"]),
        vector=vector,
        text=row["card_text"] if accepted else row["text"],  # what the reader sees
        extract=row["text"],
        card_title=row["card_title"] if accepted else None,
        edited_by=row["card_model"] if accepted else None,
        edit_rejected=row["card_reason"] if rejected else None,
    )


def _recipient(row: sqlite3.Row) -> Recipient:
    return _build(Recipient, row, interests=json.loads(row["interests"]))


def _delivery(row: sqlite3.Row) -> Delivery:
    return _build(Delivery, row)


def _show(row: sqlite3.Row) -> Show:
    return _build(Show, row, paused=bool(row["paused"]))


def _episode(row: sqlite3.Row) -> Episode:
    published = datetime.fromisoformat(row["published_at"]) if row["published_at"] else None
    links = [TranscriptLink(**d) for d in json.loads(row["transcript_links"])]
    return _build(Episode, row, published_at=published, transcript_links=links)


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


def _free(holder: str | None, until: str | None, at: str) -> bool:
    """Whether a claim held by `holder` until `until` is no obstacle at `at`: none, ended, or its holder died."""
    return holder is None or (until or "") <= at or bool(dead_holder(holder))


def holder_name() -> str:
    """Who holds a lock: host and process, for the message another process shows."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_holder(holder: str | None) -> str:
    """`holder` if it was a process on this machine that no longer runs (killed, or the machine
    restarted), so its lock need not wait out the lease; "" otherwise."""
    host, _, pid = (holder or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return ""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return holder
    except PermissionError:  # alive, under another user
        return ""
    return ""
