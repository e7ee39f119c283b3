"""The daily job under a lock, and the scheduler that runs it at the configured time.

`daily_job` takes a lock row in the store (a lease, so a dead process frees it), runs the day
and records it as finished. Two processes started by mistake therefore run a day once, and the
outbox makes each recipient's email go out once. `Scheduler` wakes every half minute, works out
which days are due (the day just ended, once the delivery time has passed, plus any days missed
while the machine was off, up to a week) and runs each once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .deliver import SmtpServer
from .embed import MiniLM
from .errors import ConfigError, PodsiftError
from .extract import Extractor
from .models import Delivery
from .net import Fetcher
from .pipeline import Context, run_day
from .settings import Settings
from .store import Store
from .transcribe import WhisperTranscriber

LOCK, LEASE = "daily", timedelta(hours=6)
CATCH_UP_DAYS = 7
log = logging.getLogger("podsift.schedule")


def holder_name() -> str:
    """Who holds a lock: host and process, for the message another process shows."""
    return f"{socket.gethostname()}:{os.getpid()}"


def daily_job(ctx: Context, day: date, embedder, server: SmtpServer | None) -> list[Delivery]:
    """Run one day under the store's lock; raise PodsiftError if another process is running one."""
    at, holder = datetime.now(timezone.utc), holder_name()
    if not ctx.store.acquire(LOCK, holder, _iso(at + LEASE), _iso(at)):
        raise PodsiftError(
            "another podsift process is running the daily job; it delivers this day too. Try again when it has finished"
        )
    try:
        deliveries = run_day(ctx, day, embedder, server)
        ctx.store.finish_day(day.isoformat())
        return deliveries
    finally:
        ctx.store.release(LOCK, holder)


def days_due(now: datetime, delivery_time: str, last_finished: str | None) -> list[date]:
    """The days whose job should run at `now` (local time), oldest first."""
    try:
        at = time.fromisoformat(delivery_time)
    except ValueError:
        raise ConfigError(f'delivery_time {delivery_time!r} is not a time: use HH:MM, e.g. "07:00"') from None
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
        """Run every day that is due now."""
        settings = self.settings
        with Store.open(settings.db_path) as store:
            now = datetime.now(ZoneInfo(settings.timezone))
            due = days_due(now, settings.delivery_time, store.last_finished_day())
            if not due:
                return
            with Fetcher(settings) as fetcher:
                ctx = Context(settings, store, fetcher, WhisperTranscriber(settings.transcribe), Extractor(embedder))
                for day in due:
                    log.info("daily job for %s", day)
                    daily_job(ctx, day, embedder, server)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")
