"""Shows and who follows them: feed URLs, their fetch state and backoff, subscriptions."""

from __future__ import annotations

from ..models import Show
from . import rows
from .db import Database
from .rows import now

SHOW_SQL = "SELECT s.*, (SELECT COUNT(*) FROM episodes e WHERE e.show_id = s.id) AS episode_count FROM shows s"


class Shows:
    def __init__(self, db: Database):
        self.db = db

    def subscribe(self, recipient_id: int, feed_url: str, title: str = "") -> tuple[Show, bool]:
        """Follow a feed; returns the show and whether this recipient newly follows it."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO shows (feed_url, title, created_at) VALUES (%s, %s, %s) ON CONFLICT (feed_url) DO NOTHING",
                (feed_url, title, now()),
            )
            show_id = self.db.value("SELECT id FROM shows WHERE feed_url = %s", (feed_url,))
            # Subscribing again is how a user says "try this paused feed again".
            self.db.execute(
                "UPDATE shows SET paused = 0, error_count = 0, next_check_at = NULL WHERE id = %s AND paused = 1",
                (show_id,),
            )
            added = self.db.execute(
                "INSERT INTO subscriptions (recipient_id, show_id, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (recipient_id, show_id) DO NOTHING",
                (recipient_id, show_id, now()),
            ).rowcount
        return self.get(show_id), bool(added)

    def unsubscribe(self, recipient_id: int, feed_url: str) -> bool:
        """Stop following a feed. The show and its transcripts stay for anyone else who follows it."""
        show = self.by_url(feed_url)
        return bool(
            self.db.execute(
                "DELETE FROM subscriptions WHERE recipient_id = %s AND show_id = %s", (recipient_id, show.id)
            ).rowcount
        )

    def get(self, show_id: int) -> Show:
        return rows.show(self.db.need(f"{SHOW_SQL} WHERE s.id = %s", (show_id,), f"no show with id {show_id}"))

    def by_url(self, feed_url: str) -> Show:
        missing = f"not subscribed to {feed_url}; `podsift feeds` lists your subscriptions"
        return rows.show(self.db.need(f"{SHOW_SQL} WHERE s.feed_url = %s", (feed_url,), missing))

    def followed(self, recipient_id: int | None = None) -> list[Show]:
        """Shows a recipient follows, or every followed show when `recipient_id` is None."""
        where = "WHERE s.id IN (SELECT show_id FROM subscriptions"
        where += " WHERE recipient_id = %s)" if recipient_id is not None else ")"
        args = (recipient_id,) if recipient_id is not None else ()
        return [rows.show(r) for r in self.db.all(f"{SHOW_SQL} {where} ORDER BY s.title, s.id", args)]

    def record_fetch(
        self, show_id: int, status: int, etag: str | None = None, last_modified: str | None = None
    ) -> None:
        """Remember a good fetch: validators for the next conditional GET; errors and backoff are cleared."""
        self.db.execute(
            "UPDATE shows SET last_checked_at = %s, last_status = %s, error = NULL, error_count = 0, "
            "next_check_at = NULL, etag = COALESCE(%s, etag), last_modified = COALESCE(%s, last_modified) "
            "WHERE id = %s",
            (now(), status, etag, last_modified, show_id),
        )

    def record_error(self, show_id: int, status: int, error: str, next_check_at: str | None, pause: bool) -> None:
        """Remember a failed fetch: the message, one more in the count, when to try next, or a pause."""
        self.db.execute(
            "UPDATE shows SET last_checked_at = %s, last_status = %s, error = %s, error_count = error_count + 1, "
            "next_check_at = %s, paused = CASE WHEN %s THEN 1 ELSE paused END WHERE id = %s",
            (now(), status, error, next_check_at, pause, show_id),
        )

    def update_details(
        self, show_id: int, title: str, link: str, description: str, author: str, image: str, language: str
    ) -> None:
        self.db.execute(
            "UPDATE shows SET title = %s, link = %s, description = %s, author = %s, image = %s, language = %s "
            "WHERE id = %s",
            (title, link, description, author, image, language, show_id),
        )

    def move(self, show_id: int, new_url: str) -> None:
        """The feed moved for good: keep its history under the new URL, unless that is already a show."""
        if self.db.one("SELECT id FROM shows WHERE feed_url = %s", (new_url,)) is None:
            self.db.execute(
                "UPDATE shows SET feed_url = %s, etag = NULL, last_modified = NULL WHERE id = %s", (new_url, show_id)
            )
