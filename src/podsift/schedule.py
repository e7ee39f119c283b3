"""The daily job under a lock, and the scheduler that runs it at the configured time.

`daily_job` takes a lock row in the store (a lease, so a dead process frees it), scans, then
builds and emails each recipient's due days and records them as done. Two processes started by
mistake therefore run a day once, and the outbox makes each email go out once. `Scheduler` wakes
every half minute and works out, for each recipient in their own time zone, which days are due:
the day just ended once their delivery time has passed, plus days missed while the machine was
off (a week at most).
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta, timezone

from .deliver import SmtpServer
from .embed import MiniLM
from .errors import PodsiftError
from .extract import Extractor
from .models import Delivery
from .net import Fetcher
from .pipeline import Context, deliver_day, retry_outbox, scan
from .rank import day_bounds
from .settings import Settings, clock_time, zone
from .store import Store, holder_name
from .transcribe import WhisperTranscriber

LOCK, LEASE = "daily", timedelta(hours=6)
CATCH_UP_DAYS = 7
log = logging.getLogger("podsift.schedule")


def daily_job(ctx: Context, due: dict[int, list[date]], embedder, server: SmtpServer | None) -> list[Delivery]:
    """Under the store's lock: scan once, then each recipient's due days, each recorded when done,
    then any email an earlier run still owes (a retry, or a send cut short by a crash).

    `due` maps recipient ids to days. Raises PodsiftError if another process holds the lock."""
    at, holder = datetime.now(timezone.utc), holder_name()
    if not ctx.store.acquire(LOCK, holder, _iso(at + LEASE), _iso(at)):
        raise PodsiftError(
            "another podsift process is running the daily job; it delivers this day too. Try again when it has finished"
        )
    try:
        earliest = min(day for days in due.values() for day in days)
        scan(ctx, since=day_bounds(earliest, ctx.settings.timezone)[0] - timedelta(days=1))
        deliveries = []
        for recipient in ctx.store.recipients():
            for day in due.get(recipient.id, []):
                delivery = deliver_day(ctx, recipient, day, embedder, server)
                deliveries += [delivery] if delivery else []
                ctx.store.finish_day(recipient.id, day.isoformat())
        return deliveries + retry_outbox(ctx, embedder, server)
    finally:
        ctx.store.release(LOCK, holder)


def due_days(store: Store, settings: Settings, now: datetime) -> dict[int, list[date]]:
    """Each recipient's due days at `now`, in their own time zone and at their own delivery time."""
    due = {}
    for recipient in store.recipients():
        local = now.astimezone(zone(recipient.timezone or settings.timezone))
        days = days_due(local, recipient.delivery_time or settings.delivery_time, store.last_finished_day(recipient.id))
        if days:
            due[recipient.id] = days
    return due


def days_due(now: datetime, delivery_time: str, last_finished: str | None) -> list[date]:
    """The days whose job should run at `now` (local time), oldest first."""
    at = clock_time(delivery_time)
    target = now.date() - timedelta(days=1 if now.time() >= at else 2)
    first = date.fromisoformat(last_finished) + timedelta(days=1) if last_finished else target
    first = max(first, target - timedelta(days=CATCH_UP_DAYS - 1))
    return [first + timedelta(days=n) for n in range((target - first).days + 1)]


class Scheduler(threading.Thread):
    """Runs the daily job at `delivery_time` in `timezone`, catching up missed days once."""

    def __init__(self, settings: Settings, interval: float = 30.0):
        super().__init__(name="podsift-scheduler", daemon=True)
        self.settings, self.interval = settings, interval
        self.stopping = threading.Event()

    def run(self) -> None:
        server = SmtpServer.from_settings(self.settings) if self.settings.smtp_url else None
        embedder = MiniLM()
        while not self.stopping.is_set():
            try:
                self.tick(server, embedder)
            except PodsiftError as exc:
                log.warning("daily job: %s", exc)
            self.stopping.wait(self.interval)

    def tick(self, server: SmtpServer | None, embedder) -> None:
        """Run every recipient's due days, with one scan before them; else send what the outbox owes."""
        settings = self.settings
        with Store.open(settings.db_path) as store, Fetcher(settings) as fetcher:
            ctx = Context(settings, store, fetcher, WhisperTranscriber(settings.transcribe), Extractor(embedder))
            due = due_days(store, settings, datetime.now(timezone.utc))
            if not due:
                retry_outbox(ctx, embedder, server)
                return
            log.info("daily job: %s", {rid: [d.isoformat() for d in days] for rid, days in due.items()})
            daily_job(ctx, due, embedder, server)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")
