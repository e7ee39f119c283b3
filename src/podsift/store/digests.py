"""Digests: each recipient's day, as stored once it is fixed, and the record of days done."""

from __future__ import annotations

import json
from datetime import datetime

from ..models import StoredInsight
from .db import Database
from .insights import Insights
from .rows import iso, now

Item = tuple[StoredInsight, list[StoredInsight]]  # an insight, and the same idea heard on other shows


class Digests:
    def __init__(self, db: Database, insights: Insights):
        self.db, self.insights = db, insights

    def get(self, recipient_id: int, day: str) -> tuple[int, list[Item]] | None:
        """A stored digest's id and items in rank order, each with the same idea heard on other
        shows; None if none is stored."""
        digest_id = self.db.value("SELECT id FROM digests WHERE recipient_id = %s AND day = %s", (recipient_id, day))
        if digest_id is None:
            return None
        items = self.db.all(
            "SELECT insight_id, also_heard FROM digest_items WHERE digest_id = %s ORDER BY rank", (digest_id,)
        )
        return digest_id, self._items(items)

    def sections(self, digest_id: int) -> list[tuple[int, str, list[Item]]]:
        """(topic id, topic, items) of what a stored digest carried for each followed topic that
        had something new, in the order the topics were followed."""
        rows = self.db.all(
            "SELECT t.id, t.query, i.insight_id, i.also_heard FROM topic_items i JOIN topics t ON t.id = i.topic_id "
            "WHERE i.digest_id = %s ORDER BY t.id, i.rank",
            (digest_id,),
        )
        found: dict[int, tuple[int, str, list]] = {}
        for topic_id, query, insight_id, also in rows:
            found.setdefault(topic_id, (topic_id, query, []))[2].append((insight_id, also))
        return [(topic_id, query, self._items(items)) for topic_id, query, items in found.values()]

    def topic_days(self, topic_id: int, limit: int = 30) -> list[tuple[str, str, list[Item]]]:
        """(day, built at, items) of the latest digests that carried something for a followed topic, newest first."""
        days = self.db.all(
            "SELECT d.id, d.day, d.created_at FROM digests d WHERE EXISTS (SELECT 1 FROM topic_items i "
            "WHERE i.digest_id = d.id AND i.topic_id = %s) ORDER BY d.day DESC LIMIT %s",
            (topic_id, limit),
        )
        return [
            (
                day,
                built,
                self._items(
                    self.db.all(
                        "SELECT insight_id, also_heard FROM topic_items WHERE digest_id = %s AND topic_id = %s "
                        "ORDER BY rank",
                        (digest_id, topic_id),
                    )
                ),
            )
            for digest_id, day, built in days
        ]

    def _items(self, rows) -> list[Item]:
        return [(self.insights.by_id([i])[0], self.insights.by_id(json.loads(also))) for i, also in rows]

    def days(self, recipient_id: int, limit: int = 30, with_items: bool = False) -> list[tuple[str, str]]:
        """(day, built at) of a recipient's stored digests, newest first; `with_items` leaves out quiet days."""
        having = "AND EXISTS (SELECT 1 FROM digest_items i WHERE i.digest_id = d.id)" if with_items else ""
        found = self.db.all(
            f"SELECT day, created_at FROM digests d WHERE recipient_id = %s {having} ORDER BY day DESC LIMIT %s",
            (recipient_id, limit),
        )
        return [(r[0], r[1]) for r in found]

    def save(
        self,
        recipient_id: int,
        day: str,
        items: list[tuple[int, list[int]]],
        replace: bool = False,
        sections: list[tuple[int, list[tuple[int, list[int]]]]] = (),
    ) -> int:
        """Store a recipient's digest for a day, with its followed topics' `sections` (topic id,
        items), and return its id. One stored already (by another process, a moment ago) is kept
        as it is, unless `replace` (`podsift digest --rebuild`)."""
        with self.db.transaction():
            if replace:
                self.db.execute("DELETE FROM digests WHERE recipient_id = %s AND day = %s", (recipient_id, day))
            added = self.db.execute(
                "INSERT INTO digests (recipient_id, day, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (recipient_id, day) DO NOTHING",
                (recipient_id, day, now()),
            ).rowcount
            digest_id = self.db.value(
                "SELECT id FROM digests WHERE recipient_id = %s AND day = %s", (recipient_id, day)
            )
            if added:
                self.db.many(
                    "INSERT INTO digest_items (digest_id, rank, insight_id, also_heard) VALUES (%s, %s, %s, %s)",
                    [(digest_id, rank, i, json.dumps(also)) for rank, (i, also) in enumerate(items, 1)],
                )
                self.db.many(
                    "INSERT INTO topic_items (digest_id, topic_id, rank, insight_id, also_heard) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [
                        (digest_id, topic_id, rank, i, json.dumps(also))
                        for topic_id, section in sections
                        for rank, (i, also) in enumerate(section, 1)
                    ],
                )
        return digest_id

    def unsettled(self, recipient_id: int, start: datetime, end: datetime) -> str:
        """What may still bring insights into a recipient's day [start, end), or "" when nothing can:
        a working feed they follow (not paused, not failing) not checked since the day ended, or an
        episode of that day still being fetched, transcribed or extracted."""
        theirs = "IN (SELECT show_id FROM subscriptions WHERE recipient_id = %s)"
        unchecked = self.db.value(
            f"SELECT COUNT(*) FROM shows WHERE id {theirs} AND paused = 0 AND error IS NULL "
            "AND (last_checked_at IS NULL OR last_checked_at < %s)",
            (recipient_id, iso(end)),
        )
        pending = self.db.value(
            f"SELECT COUNT(*) FROM episodes WHERE show_id {theirs} AND state IN ('new', 'downloaded', 'transcribed') "
            "AND published_at >= %s AND published_at < %s",
            (recipient_id, iso(start), iso(end)),
        )
        if unchecked:
            return f"{unchecked} of your feeds have not been checked since the day ended"
        if pending:
            return f"{pending} episode(s) of that day are still being transcribed or read"
        return ""

    def finish_day(self, recipient_id: int, day: str) -> None:
        """Record that a recipient's job for `day` is done."""
        self.db.execute(
            "INSERT INTO recipient_days (recipient_id, day, finished_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (recipient_id, day) DO NOTHING",
            (recipient_id, day, now()),
        )

    def last_finished_day(self, recipient_id: int) -> str | None:
        return self.db.value("SELECT MAX(day) FROM recipient_days WHERE recipient_id = %s", (recipient_id,))
