"""The outbox: a delivery row is written before sending and marked sent after the server accepts."""

from __future__ import annotations

from ..models import Delivery
from . import rows
from .db import Database
from .leases import dead_holder
from .rows import now


class Outbox:
    def __init__(self, db: Database):
        self.db = db

    def queue(self, recipient_id: int, day: str, channel: str, digest_id: int | None, message_id: str) -> Delivery:
        """The outbox row for (recipient, day, channel), written once; later calls return it as it is,
        but for naming the digest it carries when an unsent row has lost it (a rebuilt digest)."""
        self.db.execute(
            "INSERT INTO deliveries (recipient_id, day, channel, digest_id, message_id, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (recipient_id, day, channel) DO UPDATE "
            "SET digest_id = excluded.digest_id WHERE deliveries.digest_id IS NULL AND deliveries.status != 'sent'",
            (recipient_id, day, channel, digest_id, message_id, now()),
        )
        return rows.delivery(
            self.db.one(
                "SELECT * FROM deliveries WHERE recipient_id = %s AND day = %s AND channel = %s",
                (recipient_id, day, channel),
            )
        )

    def get(self, delivery_id: int) -> Delivery:
        return rows.delivery(
            self.db.need("SELECT * FROM deliveries WHERE id = %s", (delivery_id,), f"no delivery {delivery_id}")
        )

    def claim(self, delivery_id: int, at: str, lease_until: str, holder: str) -> bool:
        """Take a due delivery for sending; False if it is sent, failed, not due, or another process has it.

        A claim is a lease held by `holder`: a process that dies while sending leaves it to be
        claimed again when the lease ends, or at once by a process on the same machine that sees
        the holder is gone. So a crash between the server's acceptance and the commit sends twice."""
        by = self.db.value("SELECT claimed_by FROM deliveries WHERE id = %s AND status = 'sending'", (delivery_id,))
        return bool(
            self.db.execute(
                "UPDATE deliveries SET status = 'sending', next_attempt_at = %s, claimed_by = %s, "
                "attempts = attempts + 1 WHERE id = %s AND status IN ('pending', 'sending') "
                "AND (next_attempt_at IS NULL OR next_attempt_at <= %s OR claimed_by = %s)",
                (lease_until, holder, delivery_id, at, dead_holder(by)),
            ).rowcount
        )

    def unsent(self) -> list[Delivery]:
        """Outbox rows still to send: waiting for a retry, or claimed by a process that may have died."""
        found = self.db.all("SELECT * FROM deliveries WHERE status IN ('pending', 'sending') ORDER BY day, id")
        return [rows.delivery(r) for r in found]

    def sent(self, delivery_id: int) -> None:
        self.db.execute(
            "UPDATE deliveries SET status = 'sent', sent_at = %s, error = NULL, next_attempt_at = NULL WHERE id = %s",
            (now(), delivery_id),
        )

    def retry_now(self, delivery_id: int) -> Delivery:
        """Send a failed or waiting email again at the next pass of the outbox (the scheduler's, or
        `podsift run`'s); one already sent, or cancelled because its recipient left, stays as it is."""
        self.db.execute(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = NULL WHERE id = %s AND status IN "
            "('failed', 'pending')",
            (delivery_id,),
        )
        return self.get(delivery_id)

    def retry_later(self, delivery_id: int, error: str, retry_at: str) -> None:
        self.db.execute(
            "UPDATE deliveries SET status = 'pending', error = %s, next_attempt_at = %s WHERE id = %s",
            (error, retry_at, delivery_id),
        )

    def cancel(self, delivery_id: int, why: str) -> None:
        """An owed email that will not be sent (its recipient unsubscribed): no longer owed."""
        self.db.execute(
            "UPDATE deliveries SET status = 'cancelled', error = %s, next_attempt_at = NULL WHERE id = %s",
            (why, delivery_id),
        )

    def failed(self, delivery_id: int, error: str) -> None:
        self.db.execute(
            "UPDATE deliveries SET status = 'failed', error = %s, next_attempt_at = NULL WHERE id = %s",
            (error, delivery_id),
        )

    def all(self, day: str | None = None) -> list[Delivery]:
        """Outbox rows, newest day first."""
        where, args = ("WHERE day = %s", (day,)) if day else ("", ())
        return [
            rows.delivery(r)
            for r in self.db.all(f"SELECT * FROM deliveries {where} ORDER BY day DESC, recipient_id", args)
        ]
