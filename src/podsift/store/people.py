"""People: recipients, their email state, web passwords and sessions."""

from __future__ import annotations

import json

from ..errors import PodsiftError
from ..models import Recipient, Topic
from . import rows
from .db import Database
from .rows import now

UNSUBSCRIBED = "not sent: the recipient unsubscribed first"


class People:
    def __init__(self, db: Database):
        self.db = db

    def local(self) -> int:
        """The install's owner, whom the command line acts for: the first recipient, made on first use."""
        found = self.owner()
        if found is not None:
            return found
        return self.db.insert("INSERT INTO recipients (name, created_at) VALUES ('you', %s)", (now(),))

    def owner(self) -> int | None:
        """The install's first account: the one who runs it, and sees its status page."""
        return self.db.value("SELECT id FROM recipients ORDER BY id LIMIT 1")

    def add(self, email: str, name: str = "", password_hash: str | None = None) -> tuple[Recipient, bool]:
        """Create a recipient, or update the one with this email; returns it and whether it is new.

        The first email given to a single-person install goes to its existing recipient, so the
        shows already followed stay followed."""
        with self.db.transaction():
            recipient_id = self.db.value("SELECT id FROM recipients WHERE email = %s", (email,))
            created = recipient_id is None
            if recipient_id is None:
                recipient_id = self.db.value(
                    "SELECT id FROM recipients WHERE email IS NULL AND NOT EXISTS "
                    "(SELECT 1 FROM recipients WHERE email IS NOT NULL) ORDER BY id LIMIT 1"
                )
            if recipient_id is None:
                recipient_id = self.db.insert(
                    "INSERT INTO recipients (email, name, created_at) VALUES (%s, %s, %s)", (email, name, now())
                )
            self.db.execute(
                "UPDATE recipients SET email = %s, name = CASE WHEN %s != '' THEN %s ELSE name END WHERE id = %s",
                (email, name, name, recipient_id),
            )
            if password_hash:
                self._replace_password(recipient_id, password_hash)
        return self.get(recipient_id), created

    def get(self, recipient_id: int) -> Recipient:
        return rows.recipient(
            self.db.need("SELECT * FROM recipients WHERE id = %s", (recipient_id,), f"no recipient {recipient_id}")
        )

    def by_email(self, email: str) -> Recipient:
        missing = f"no recipient with email {email}; add one with `podsift user add {email}`"
        return rows.recipient(self.db.need("SELECT * FROM recipients WHERE email = %s", (email,), missing))

    def set_interests(self, recipient_id: int, interests: list[str]) -> None:
        """A recipient's own interests, which the digest lifts (instead of the install's)."""
        self.db.execute("UPDATE recipients SET interests = %s WHERE id = %s", (json.dumps(interests), recipient_id))

    def follow_topic(self, recipient_id: int, query: str) -> Topic:
        """Follow a topic (its words, spaces tidied); following it again changes nothing."""
        query = " ".join(query.split())
        if not query:
            raise PodsiftError('a topic needs words: give a subject, such as "diffusion models"')
        self.db.execute(
            "INSERT INTO topics (recipient_id, query, created_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (recipient_id, query) DO NOTHING",
            (recipient_id, query, now()),
        )
        return next(t for t in self.topics(recipient_id) if t.query == query)

    def unfollow_topic(self, recipient_id: int, topic_id: int) -> None:
        """Stop following a topic; what earlier digests carried for it goes with it."""
        self.db.execute("DELETE FROM topics WHERE id = %s AND recipient_id = %s", (topic_id, recipient_id))

    def topics(self, recipient_id: int) -> list[Topic]:
        """The topics a person follows, in the order they were added."""
        found = self.db.all("SELECT * FROM topics WHERE recipient_id = %s ORDER BY id", (recipient_id,))
        return [Topic(r["id"], r["recipient_id"], r["query"], r["created_at"]) for r in found]

    def all(self) -> list[Recipient]:
        """Everyone, in the order they were added."""
        return [rows.recipient(r) for r in self.db.all("SELECT * FROM recipients ORDER BY id")]

    def overview(self) -> list[tuple[Recipient, int, str | None]]:
        """Everyone, in the order they were added, with how many shows each follows and the last
        day whose digest was emailed to them (None: never)."""
        found = self.db.all(
            "SELECT r.*, (SELECT count(*) FROM subscriptions s WHERE s.recipient_id = r.id) AS shows, "
            "(SELECT max(d.day) FROM deliveries d WHERE d.recipient_id = r.id AND d.status = 'sent') AS last_sent "
            "FROM recipients r ORDER BY r.id"
        )
        return [(rows.recipient(r), r["shows"], r["last_sent"]) for r in found]

    def set_password(self, recipient_id: int, password_hash: str) -> None:
        """A new web password, which ends every session the old one opened."""
        with self.db.transaction():
            self._replace_password(recipient_id, password_hash)

    def _replace_password(self, recipient_id: int, password_hash: str) -> None:
        """Inside a transaction: the new hash, and no session left that the old password opened."""
        self.db.execute("UPDATE recipients SET password_hash = %s WHERE id = %s", (password_hash, recipient_id))
        self.db.execute("DELETE FROM sessions WHERE recipient_id = %s", (recipient_id,))

    def remove(self, recipient_id: int) -> None:
        """Forget a person: their subscriptions, digests, outbox, votes and sessions go with them.
        Transcripts and insights stay: they belong to the shows, which others may follow."""
        if recipient_id == self.owner():
            raise PodsiftError(
                f"{self.get(recipient_id).email or 'the first recipient'} is the install's owner (its first "
                "account), whom the command line acts for, and cannot be removed (to start afresh, move "
                "$PODSIFT_HOME away)"
            )
        self.db.execute("DELETE FROM recipients WHERE id = %s", (recipient_id,))

    def set_schedule(self, recipient_id: int, timezone: str | None, delivery_time: str | None) -> None:
        """A recipient's own time zone and delivery time: None keeps what they have, "" goes back
        to the install's."""
        keep_or = "CASE WHEN CAST(%s AS TEXT) IS NULL THEN {0} ELSE NULLIF(%s, '') END"
        self.db.execute(
            f"UPDATE recipients SET timezone = {keep_or.format('timezone')}, "
            f"delivery_time = {keep_or.format('delivery_time')} WHERE id = %s",
            (timezone, timezone, delivery_time, delivery_time, recipient_id),
        )

    def mailable(self) -> list[Recipient]:
        """Recipients with an email address who have not unsubscribed."""
        found = self.db.all("SELECT * FROM recipients WHERE email IS NOT NULL AND unsubscribed_at IS NULL ORDER BY id")
        return [rows.recipient(r) for r in found]

    def stop_email(self, recipient_id: int) -> None:
        """Send this recipient no more email (the one-click unsubscribe), nor what the outbox still owes them."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE recipients SET unsubscribed_at = COALESCE(unsubscribed_at, %s) WHERE id = %s",
                (now(), recipient_id),
            )
            self.db.execute(
                "UPDATE deliveries SET status = 'cancelled', error = %s, next_attempt_at = NULL "
                "WHERE recipient_id = %s AND status IN ('pending', 'sending')",
                (UNSUBSCRIBED, recipient_id),
            )

    def resume_email(self, recipient_id: int) -> None:
        """Turn a recipient's email back on: their next digest is emailed again."""
        self.db.execute("UPDATE recipients SET unsubscribed_at = NULL WHERE id = %s", (recipient_id,))

    # -- web sessions -------------------------------------------------------------------------

    def start_session(self, token_hash: str, recipient_id: int) -> None:
        stamp = now()
        self.db.execute(
            "INSERT INTO sessions (token_hash, recipient_id, created_at, seen_at) VALUES (%s, %s, %s, %s)",
            (token_hash, recipient_id, stamp, stamp),
        )

    def session_recipient(self, token_hash: str, seen_since: str, refresh_before: str) -> int | None:
        """Who a live session belongs to: one seen since `seen_since`; its last sighting moves on
        when older than `refresh_before` (not at every request: that would be a write per page)."""
        row = self.db.one(
            "SELECT recipient_id, seen_at FROM sessions WHERE token_hash = %s AND seen_at >= %s",
            (token_hash, seen_since),
        )
        if row is None:
            return None
        if row[1] < refresh_before:
            self.db.execute("UPDATE sessions SET seen_at = %s WHERE token_hash = %s", (now(), token_hash))
        return row[0]

    def end_session(self, token_hash: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE token_hash = %s", (token_hash,))
