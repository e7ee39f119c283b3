"""The daily job under a lock, and the scheduler that runs it at the configured time.

`daily_job` takes a lock row in the store (a lease, so a dead process frees it), scans, then
builds and emails each recipient's due days and records each as done once its digest is fixed
(sent, or settled with nothing to send). Two processes started by mistake therefore run a day
once, and the outbox makes each email go out once. `Scheduler` wakes every half minute and works
out, for each recipient in their own time zone, which days are due: the day just ended once their
delivery time has passed, plus days missed while the machine was off (a week at most).

The scheduler is a thread of `podsift serve` that must outlive whatever goes wrong in one job (a
locked database, a bug, a feed nobody foresaw): it logs the traceback, records the error where
`podsift status` shows it, and tries again later, backing off from its interval to an hour.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from .deliver.mail import SmtpServer
from .deliver.rank import day_bounds
from .errors import PodsiftError, describe
from .insights.embed import MiniLM
from .insights.extract import Extractor
from .models import Delivery, Recipient
from .net import Fetcher
from .pipeline import Context, deliver_day, retry_outbox, scan
from .settings import Settings, clock_time, zone
from .store import Store, holder_name, iso, open_store
from .transcribe.whisper import WhisperTranscriber

LOCK, LEASE = "daily", timedelta(hours=6)
CATCH_UP_DAYS = 7
RETRY_CAP = 3600.0  # seconds: after failures in a row the scheduler waits its interval, twice that, ... an hour at most
UNSETTLED_WAIT = timedelta(minutes=30)  # a due day whose feeds or episodes are not done yet is looked at again
log = logging.getLogger("podsift.schedule")


@dataclass
class JobReport:
    """What a daily job did: the emails it sent or tried, and the days it left due."""

    deliveries: list[Delivery] = field(default_factory=list)
    waiting: list[tuple[Recipient, date, str]] = field(default_factory=list)  # nothing fixed yet, and why

    def summary(self) -> str:
        sent = sum(d.status == "sent" for d in self.deliveries)
        text = f"{sent} email(s) sent, {len(self.deliveries) - sent} not"
        return text + (f"; {len(self.waiting)} day(s) wait: {self.waiting[0][2]}" if self.waiting else "")


def daily_job(ctx: Context, due: dict[int, list[date]], embedder, server: SmtpServer | None, scanner=scan) -> JobReport:
    """Under the store's lock: scan once, then each recipient's due days, each recorded as done once
    its digest is fixed, then any email an earlier run still owes (a retry, or a send cut short by a
    crash). A day with nothing to send yet whose digest is still provisional stays due.

    `due` maps recipient ids to days; `scanner(ctx, since)` does the scan (the workers' on a
    Postgres store: `podsift run`). Raises PodsiftError if another process holds the lock."""
    at, holder = datetime.now(timezone.utc), holder_name()
    if not ctx.store.runs.acquire(LOCK, holder, iso(at + LEASE), iso(at)):
        raise PodsiftError(
            "another podsift process is running the daily job; it delivers this day too. Try again when it has finished"
        )
    try:
        run = ctx.store.runs.start("daily", holder)
        try:
            report = _deliver_due(ctx, due, embedder, server, scanner)
        except BaseException as exc:
            _record(ctx.store.runs.end, run, "failed", "", describe(exc))
            raise
        ctx.store.runs.end(run, "incomplete" if report.waiting else "ok", report.summary())
        return report
    finally:
        ctx.store.runs.release(LOCK, holder)


def _deliver_due(ctx: Context, due: dict[int, list[date]], embedder, server: SmtpServer | None, scanner) -> JobReport:
    earliest = min(day for days in due.values() for day in days)
    scanner(ctx, since=day_bounds(earliest, ctx.settings.timezone)[0] - timedelta(days=1))
    report = JobReport()
    for recipient in ctx.store.people.all():
        for day in due.get(recipient.id, []):
            digest, delivery = deliver_day(ctx, recipient, day, embedder, server)
            report.deliveries += [delivery] if delivery else []
            if digest.id is None:
                report.waiting.append((recipient, day, digest.provisional))
            else:
                ctx.store.digests.finish_day(recipient.id, day.isoformat())
    report.deliveries += retry_outbox(ctx, embedder, server)
    return report


def due_days(store: Store, settings: Settings, now: datetime) -> dict[int, list[date]]:
    """Each recipient's due days at `now`, in their own time zone and at their own delivery time."""
    due = {}
    for recipient in store.people.all():
        local = now.astimezone(zone(recipient.timezone or settings.timezone))
        days = days_due(
            local, recipient.delivery_time or settings.delivery_time, store.digests.last_finished_day(recipient.id)
        )
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


def next_delivery(now: datetime, delivery_time: str, last_finished: str | None) -> tuple[datetime, list[date]]:
    """When a recipient's next job runs (local time) and the days it delivers: now, if days are due."""
    due = days_due(now, delivery_time, last_finished)
    if due:
        return now, due
    at = datetime.combine(now.date(), clock_time(delivery_time), now.tzinfo)
    at = at if at > now else at + timedelta(days=1)
    return at, [at.date() - timedelta(days=1)]


class Scheduler(threading.Thread):
    """Runs the daily job at `delivery_time` in `timezone`, catching up missed days once, and
    keeps running whatever a job raises."""

    def __init__(self, settings: Settings, interval: float = 30.0, server: SmtpServer | None = None):
        super().__init__(name="podsift-scheduler", daemon=True)
        self.settings, self.interval, self.server = settings, interval, server
        self.stopping = threading.Event()
        self.failures = 0  # in a row
        self.not_before: datetime | None = None  # the next job waits for this: days that were not settled
        self._embedder = None

    def run(self) -> None:
        run = self._runs(lambda runs: runs.start("scheduler", holder_name()))
        while not self.stopping.is_set():
            wait = self.interval
            try:
                self.tick()
                self.failures = 0
            except Exception as exc:  # a bug, a locked database, a bad feed: this thread must not die of it
                self.failures += 1
                wait = min(self.interval * 2 ** (self.failures - 1), RETRY_CAP)
                error = describe(exc)
                if isinstance(exc, PodsiftError):
                    log.warning("daily job: %s; trying again in %g s", error, wait)
                else:
                    log.exception("daily job failed (%d in a row); trying again in %g s", self.failures, wait)
                if run:
                    self._runs(lambda runs, error=error: runs.error(run, error))
            if run:
                self._runs(lambda runs: runs.beat(run, self.waiting_for()))
            self.stopping.wait(wait)
        if run:
            self._runs(lambda runs: runs.end(run, "stopped"))

    def tick(self) -> None:
        """Run every recipient's due days, with one scan before them (on Postgres: queue them for the
        workers); else send what the outbox owes."""
        settings, embedder, now = self.settings, self.embedder, datetime.now(timezone.utc)
        with open_store(settings) as store, Fetcher(settings) as fetcher:
            ctx = Context(settings, store, fetcher, WhisperTranscriber(settings.transcribe), Extractor(embedder))
            due = due_days(store, settings, now)
            if not due or (self.not_before and now < self.not_before):
                retry_outbox(ctx, embedder, self.server)
                return
            if settings.database_url:  # workers do the day: a poll of every feed, then each recipient's day
                from .tasks import queue_days

                queue_days(settings, store, due)
                return
            log.info("daily job: %s", {rid: [d.isoformat() for d in days] for rid, days in due.items()})
            report = daily_job(ctx, due, embedder, self.server)
        self.not_before = now + UNSETTLED_WAIT if report.waiting else None
        if report.waiting:
            log.info("daily job: %s; looking again at %s", report.summary(), iso(self.not_before))

    @property
    def embedder(self):
        if self._embedder is None:  # loaded inside a tick, so that a failure to load is retried too
            self._embedder = MiniLM()
        return self._embedder

    def waiting_for(self) -> str:
        """What the scheduler waits for, as `podsift status` shows it."""
        if self.failures:
            return f"retrying after {self.failures} failed attempt(s)"
        return f"unsettled days: looking again at {iso(self.not_before)}" if self.not_before else "idle"

    def _runs(self, write):
        """Write down what the scheduler does: `write(store.runs)` on a store of its own."""

        def call():
            with open_store(self.settings) as store:
                return write(store.runs)

        return _record(call)


def _record(call, *args):
    """Write down what happened, unless the store itself is what fails (its error is already on its way)."""
    try:
        return call(*args)
    except PodsiftError as exc:
        log.warning("cannot record the scheduler's state in the store: %s", exc)
        return None
