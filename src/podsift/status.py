"""What the service is doing, in the words `podsift status` prints and the web app's status page shows:
is the scheduler alive, when did the daily job and the last scan run and how did they end, the last
error, when each person's next digest is due, episodes by state, emails still owed, and on a
Postgres store the task queue and its workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .errors import describe
from .models import Run
from .schedule import next_delivery
from .settings import Settings, zone
from .store import Store, dead_holder

SILENT_AFTER = timedelta(minutes=3)  # a scheduler ticks every 30 s; this long without a beat, it is gone


@dataclass
class Status:
    """The facts, each as (label, text) lines: the same for the terminal and the web page."""

    lines: list[tuple[str, str]]
    healthy: bool  # no scheduler died without stopping, and the last daily job did not fail


def status(store: Store, settings: Settings, now: datetime | None = None) -> Status:
    """Everything `podsift status` reports, read from the store."""
    now = now or datetime.now(timezone.utc)
    scheduler, alive = _scheduler(store.runs.latest("scheduler"), now)
    daily, scan, error = store.runs.latest("daily"), store.runs.latest("scan"), store.runs.last_error()
    lines = [
        ("scheduler", scheduler),
        ("last daily job", _run(daily) if daily else "never run"),
        ("last scan", _run(scan) if scan else "never run: `podsift scan`"),
        ("last error", f"{_when(error.error_at)} ({error.kind}): {error.error}" if error else "none"),
        *_safely("next digests", lambda: _next_digests(store, settings, now)),
        *_safely("episodes", lambda: [("episodes", _episodes(store, settings))]),
        *_safely("emails owed", lambda: [("emails owed", _owed(store))]),
        *_safely("queue", lambda: queue_status(store.db)),
    ]
    return Status(lines, alive and not (daily and daily.outcome == "failed"))


def _safely(label: str, lines) -> list[tuple[str, str]]:
    """`lines()`, or one line that says why they cannot be read: a status report must not fail
    on the very fault it should report (a row the code cannot read, a bug)."""
    try:
        return lines()
    except Exception as exc:
        return [(label, f"cannot be read: {describe(exc)}")]


def _scheduler(run: Run | None, now: datetime) -> tuple[str, bool]:
    if run is None:
        return "never started: `podsift serve` runs it, or run `podsift run` from cron", True
    if run.outcome != "running":
        return f"stopped at {_when(run.beat_at)} ({run.holder})", True
    if dead_holder(run.holder) or datetime.fromisoformat(run.beat_at) < now - SILENT_AFTER:
        return f"not running: last seen {_when(run.beat_at)} ({run.holder}), which ended without stopping it", False
    return f"running in {run.holder} since {_when(run.started_at)}, last tick {_when(run.beat_at)}: {run.summary}", True


def _run(run: Run) -> str:
    took = datetime.fromisoformat(run.beat_at) - datetime.fromisoformat(run.started_at)
    text = f"{_when(run.started_at)}, {run.outcome}"
    if run.outcome != "running":
        text += f" after {int(took.total_seconds())} s"
    return text + (f": {run.summary}" if run.summary else "")


def _next_digests(store: Store, settings: Settings, now: datetime) -> list[tuple[str, str]]:
    lines = []
    for recipient in store.people.all():
        zone_name = recipient.timezone or settings.timezone
        at, days = next_delivery(
            now.astimezone(zone(zone_name)),
            recipient.delivery_time or settings.delivery_time,
            store.digests.last_finished_day(recipient.id),
        )
        when = "due now" if at == now.astimezone(at.tzinfo) else at.strftime("%Y-%m-%d %H:%M")
        what = ", ".join(d.isoformat() for d in days)
        off = " (email off: unsubscribed)" if recipient.unsubscribed_at else ""
        lines.append((f"next digest, {recipient.email or 'you'}", f"{when} ({zone_name}) for {what}{off}"))
    return lines


def _episodes(store: Store, settings: Settings) -> str:
    counts = store.episodes.counts()
    text = ", ".join(f"{state} {counts[state]}" for state in sorted(counts)) or "none yet"
    retried = store.episodes.retryable(settings.scan.max_attempts)
    return text + (f" ({retried} failed will be retried by the next scan)" if retried else "")


def _owed(store: Store) -> str:
    owed = store.outbox.unsent()
    failed = sum(d.status == "failed" for d in store.outbox.all())
    if not owed:
        text = "none"
    else:
        next_try = min((d.next_attempt_at for d in owed if d.next_attempt_at), default="now")
        text = f"{len(owed)} (next try {_when(next_try) if next_try != 'now' else 'now'})"
    return text + (f"; {failed} failed for good: `podsift outbox` says why" if failed else "")


def _when(stamp: str | None) -> str:
    return stamp.replace("T", " ")[:16] + " UTC" if stamp else "never"


def queue_status(db) -> list[tuple[str, str]]:
    """`podsift status` lines for a Postgres store's queue: jobs by queue and state, and the live
    workers with what each is doing; none for a store without the queue."""
    if db.engine != "postgres" or not db.has_table("procrastinate_jobs"):
        return []
    by_queue: dict[str, list[str]] = {}
    for queue, state, count in db.all(
        "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2"
    ):
        by_queue.setdefault(queue, []).append(f"{count} {state}")
    workers = db.all(
        "SELECT w.id, w.last_heartbeat, count(j.id) FROM procrastinate_workers w LEFT JOIN procrastinate_jobs j "
        "ON j.worker_id = w.id AND j.status = 'doing' GROUP BY 1, 2 ORDER BY 1"
    )
    seen = ", ".join(f"#{w} doing {n}, seen {beat:%H:%M:%S}" for w, beat, n in workers)
    lines = [(f"queue {queue}", ", ".join(states)) for queue, states in by_queue.items()]
    return lines + [("workers", f"{len(workers)}: {seen}" if workers else "none running: `podsift worker`")]
