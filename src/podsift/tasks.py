"""The pipeline as tasks on Procrastinate, a proven task queue that lives in the Postgres store
itself (no broker to run): what `podsift worker`, on any number of machines, takes and does.

Each task is a stage of `stages.py`, a function of one id, and defers the next:
poll (queue `feeds`) -> ingest (`transcribe`) -> extract (`extract`); `deliver` (`deliver`)
sends one recipient's day once it is settled. An episode's tasks hold the lock `episode-<id>`,
so two workers never work on one episode at once, and a queueing lock keeps one of each waiting.
Failures of an episode itself (a 404, a broken transcript) are recorded on the episode and asked
again later, up to `[scan] max_attempts`, as the in-process scan does; a lost database is
Procrastinate's to retry. A worker that dies mid-task (kill -9, a lost machine) stops sending
heartbeats; `recover` hands its jobs to the others. `prune` deletes finished jobs after a day.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

from . import stages
from .deliver.mail import SmtpServer
from .deliver.rank import day_bounds
from .errors import ConfigError, NotFound, PodsiftError, describe
from .ingest.scan import due as due_now
from .insights.extract import Extractor
from .net import Fetcher
from .pipeline import Context, deliver_day
from .settings import Settings
from .store import StoreError, open_store
from .transcribe.whisper import WhisperTranscriber

try:
    import procrastinate
    import procrastinate.exceptions
    from procrastinate.exceptions import AlreadyEnqueued
except ImportError:  # the default install runs in threads; only a team's install needs the queue
    procrastinate = None

QUEUE_OF = {"poll": "feeds", "ingest": "transcribe", "extract": "extract", "deliver": "deliver"}  # each task's queue
QUEUES = tuple(QUEUE_OF.values())
MAINTENANCE = "maintenance"  # every worker takes this queue too: handing on a dead worker's jobs
HEARTBEAT = 10.0  # seconds between a worker's signs of life
STALLED_BEATS = 3  # a worker silent for this many heartbeats is taken for dead, and its jobs given to others
KEEP_FINISHED_HOURS = 24  # `podsift status` counts the last day's jobs; the episodes keep their own record
RETRY_WAIT = 60.0  # seconds before an episode that failed is tried again; doubled at each attempt
WAIT_POLL = 0.5  # seconds between a waiting scan's looks at the queue
NO_WORKER_GRACE = 15.0  # seconds a waiting scan gives a worker to show up
log = logging.getLogger("podsift.tasks")


class Resources:
    """What a worker's tasks share: the settings, and the models, loaded once on first use."""

    def __init__(self, settings: Settings, heartbeat: float = HEARTBEAT, retry_wait: float = RETRY_WAIT):
        self.settings, self.heartbeat, self.retry_wait = settings, heartbeat, retry_wait
        self._lock = threading.Lock()
        self._transcriber: WhisperTranscriber | None = None
        self._extractor: Extractor | None = None

    @property
    def stalled_after(self) -> float:
        return self.heartbeat * STALLED_BEATS

    @contextmanager
    def context(self):
        """A stage's Context on a store connection and an HTTP client of its own."""
        with self._lock:
            self._transcriber = self._transcriber or WhisperTranscriber(self.settings.transcribe)
            self._extractor = self._extractor or Extractor()
        with open_store(self.settings) as store, Fetcher(self.settings) as fetcher:
            yield Context(self.settings, store, fetcher, self._transcriber, self._extractor)


def queue_app(settings: Settings):
    """The Procrastinate app on the store's Postgres, with podsift's tasks registered."""
    if procrastinate is None:
        raise ConfigError("the task queue needs Procrastinate: pip install 'podsift[postgres]'")
    if not settings.database_url:
        raise ConfigError(
            "workers share a Postgres store: set database_url (or PODSIFT_DATABASE_URL). On one machine, "
            "`podsift scan` does the same work in threads"
        )
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=settings.database_url))
    infrastructure = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2, retry_exceptions={StoreError})
    for task in (poll, ingest, extract, deliver):
        name = task.__name__
        app.task(name=f"podsift.{name}", queue=QUEUE_OF[name], pass_context=True, retry=infrastructure)(task)
    app.periodic(cron="* * * * * */5", periodic_id="recover")(  # every 5 s: the seconds column comes last
        app.task(name="podsift.recover", queue=MAINTENANCE, pass_context=True, queueing_lock="podsift.recover")(recover)
    )
    app.periodic(cron="7 * * * *", periodic_id="prune")(  # hourly
        app.task(name="podsift.prune", queue=MAINTENANCE, pass_context=True, queueing_lock="podsift.prune")(prune)
    )
    return app


def ready_app(settings: Settings):
    """`queue_app`, with Procrastinate's tables made in the store's database if they are not yet."""
    app = queue_app(settings)
    ensure_schema(settings, app)
    return app


def ensure_schema(settings: Settings, app) -> None:
    """Create Procrastinate's tables in the store's database, once, however many processes ask at once."""
    with open_store(settings) as store, store.transaction():
        store.db.lock_schema()
        if not store.db.has_table("procrastinate_jobs"):
            store.db.execute(app.schema_manager.get_schema())


def defer(app, task: str, schedule_in: float = 0, lock: str = "", **ids: int | str) -> bool:
    """Queue `task` for one show, episode or recipient's day unless one is already waiting; False
    if one was. Jobs that share a `lock` run one at a time (an episode's, by default)."""
    key = f"{task}-{'-'.join(f'{k}{v}' for k, v in sorted(ids.items()))}"
    lock = lock or (f"episode-{ids['episode_id']}" if "episode_id" in ids else key)
    options = {"schedule_in": {"seconds": schedule_in}} if schedule_in else {}
    try:
        app.configure_task(f"podsift.{task}", queue=QUEUE_OF[task], lock=lock, queueing_lock=key, **options).defer(
            **ids
        )
        return True
    except AlreadyEnqueued:
        return False


def poll(job, show_id: int, since: str = "") -> None:
    """Fetch one feed, store its new episodes (and, with `since`, an ISO time, every one published
    since then), and queue each waiting one for ingesting."""
    with _resources(job).context() as ctx:
        try:
            result, waiting = stages.poll(ctx, show_id, datetime.fromisoformat(since) if since else None)
        except NotFound:  # unsubscribed by everyone since it was queued
            log.info("feed %s: no longer followed", show_id)
            return
    log.info("feed %s: %s%s", show_id, result.outcome, f" ({result.message})" if result.message else "")
    for episode_id in waiting:
        defer(job.app, "ingest", episode_id=episode_id)


def ingest(job, episode_id: int) -> None:
    """Bring one episode to 'transcribed', then queue its extraction."""
    with _resources(job).context() as ctx:
        outcome = _attempt(job, ctx, stages.ingest, episode_id)
    if outcome is not None and outcome.state == "transcribed":
        defer(job.app, "extract", episode_id=episode_id)


def extract(job, episode_id: int) -> None:
    """Find and store one transcribed episode's insights."""
    with _resources(job).context() as ctx:
        _attempt(job, ctx, stages.extract, episode_id)


def deliver(job, recipient_id: int, day: str) -> None:
    """Build one recipient's digest of one day and email it, once, when the day is settled (every
    feed checked since it ended, every episode of it read); until then, look again later."""
    resources = _resources(job)
    with resources.context() as ctx:
        person, when = ctx.store.people.get(recipient_id), date.fromisoformat(day)
        why = ctx.store.digests.unsettled(recipient_id, *day_bounds(when, person.timezone or ctx.settings.timezone))
        if why:
            log.info("%s for recipient %s: not yet (%s)", day, recipient_id, why)
            defer(job.app, "deliver", schedule_in=max(resources.retry_wait, 1), recipient_id=recipient_id, day=day)
            return
        server = SmtpServer.from_settings(ctx.settings) if ctx.settings.smtp_url else None
        _, sent = deliver_day(ctx, person, when, ctx.extractor.embedder, server)
        ctx.store.digests.finish_day(recipient_id, day)
    log.info("%s for recipient %s: %s", day, recipient_id, sent.status if sent else "nothing to send")


def queue_days(settings: Settings, store, due: dict[int, list[date]]) -> None:
    """The daily job through the queue (`podsift serve` on Postgres): a poll of every due feed
    for what was published since the day before the earliest due day (as `daily_job` scans), and
    each recipient's due days, which wait for what the polls bring."""
    app = ready_app(settings)
    earliest = min(day for days in due.values() for day in days)
    with app.open():
        queue_polls(app, store, settings, day_bounds(earliest, settings.timezone)[0] - timedelta(days=1))
        for recipient_id, days in due.items():
            for day in days:
                defer(app, "deliver", recipient_id=recipient_id, day=day.isoformat())


def queue_polls(app, store, settings: Settings, since: datetime | None = None) -> None:
    """Queue a poll of every followed feed that is due (one waiting per feed); with `since`,
    first put the episodes skipped since then back in the queue, as the threaded scan does."""
    at = datetime.now(timezone.utc)
    if since is not None:
        store.episodes.requeue(("skipped",), since, settings.scan.max_attempts)  # a failed one: `_attempt` retries it
    lanes = settings.scan.per_host
    for show in store.shows.followed():
        if due_now(show, at):
            # As one process keeps to per_host requests at once to a host, so does the fleet: a host's
            # feeds share per_host locks, and the polls of each lane run one after another.
            lane = f"host-{urlsplit(show.feed_url).hostname}-{show.id % lanes}"
            defer(app, "poll", lock=lane, show_id=show.id, **({"since": since.isoformat()} if since else {}))
    for episode in store.episodes.matching(states=("new", "transcribed"), followed=True):  # waiting, or put back
        defer(app, "ingest" if episode.state == "new" else "extract", episode_id=episode.id)


async def recover(job, timestamp: int) -> None:
    """Hand the jobs of workers that stopped sending heartbeats to the workers still alive."""
    stalled_after = _resources(job).stalled_after
    for stalled in await job.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        log.warning("job %s (%s) was left by a worker that died; handing it on", stalled.id, stalled.task_name)
        await job.app.job_manager.retry_job(stalled)


async def prune(job, timestamp: int) -> None:
    """Delete the jobs (and their events) that finished more than KEEP_FINISHED_HOURS ago: a day
    of polls for 100,000 feeds is millions of rows. What happened to an episode stays on the episode."""
    await job.app.job_manager.delete_old_jobs(
        nb_hours=KEEP_FINISHED_HOURS, include_failed=True, include_cancelled=True, include_aborted=True
    )


def _attempt(job, ctx: Context, stage, episode_id: int):
    """Run a stage on one episode. A failure of the episode's own is recorded on it, and the stage
    asked again later while attempts are left; a StoreError rises for Procrastinate to retry."""
    episode, most = ctx.store.episodes.get(episode_id), ctx.settings.scan.max_attempts
    if episode.state == "failed" and episode.attempts >= most:
        return None  # given up on: `podsift episodes` says why
    try:
        outcome = stage(ctx, episode_id)
    except StoreError:
        raise
    except Exception as exc:  # a 404, a broken file, a bug: this episode alone fails
        reason = describe(exc) if isinstance(exc, PodsiftError) else f"{describe(exc)}; this is a bug: please report it"
        ctx.store.episodes.fail(episode_id, f"{stage.__name__} failed: {reason}")
        if episode.attempts + 1 < most:
            wait = _resources(job).retry_wait * 2**episode.attempts
            defer(job.app, stage.__name__, schedule_in=wait, episode_id=episode_id)
        log.warning(
            "episode %s: %s failed (attempt %s of %s): %s",
            episode_id,
            stage.__name__,
            episode.attempts + 1,
            most,
            reason,
        )
        return None
    log.info("episode %s: %s", episode_id, outcome.did)
    return outcome


def _resources(job) -> Resources:
    return job.additional_context["podsift"]


def run_worker(settings: Settings, queues: tuple[str, ...], concurrency: int, heartbeat: float, retry_wait: float):
    """Take and do podsift's jobs until stopped (SIGINT or SIGTERM: the jobs at hand finish first).
    A lost database (a restart, a network cut) stops Procrastinate's worker; this one connects
    again, waiting 1 s, then 2, ... a minute at most, and goes on."""
    resources, wait = Resources(settings, heartbeat, retry_wait), 1.0
    options = {
        "queues": [*queues, MAINTENANCE],
        "concurrency": concurrency,
        "additional_context": {"podsift": resources},
        "update_heartbeat_interval": heartbeat,
        "stalled_worker_timeout": resources.stalled_after,
    }
    while True:
        started = time.monotonic()
        try:
            app = ready_app(settings)
            if asyncio.run(_work(app, options)):
                return
            why = "its connection broke"
        except (procrastinate.exceptions.ConnectorException, StoreError) as exc:
            why = describe(exc).strip().splitlines()[-1]
        wait = 1.0 if time.monotonic() - started > 60 else min(wait * 2, 60.0)
        log.warning("lost the store (%s); connecting again in %g s", why, wait)
        time.sleep(wait)


async def _work(app, options: dict) -> bool:
    """Run Procrastinate's worker until a signal stops it (True), or it stops of itself because
    its database went away (False)."""
    loop, stopped = asyncio.get_running_loop(), asyncio.Event()
    async with app.open_async():
        worker = asyncio.create_task(app.run_worker_async(install_signal_handlers=False, **options))

        def stop() -> None:
            stopped.set()
            worker.cancel()  # Procrastinate's graceful stop: no new job, the running ones finish

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        try:
            await worker
        except asyncio.CancelledError:
            pass
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
    return stopped.is_set()


def enqueue_scan(settings: Settings, reporter, wait: bool = True, since: datetime | None = None) -> tuple[int, int]:
    """Queue a poll of every followed feed that is due (taking, with `since`, every episode
    published since then) and, with `wait`, follow the work it leads to (ingest, extract) with a
    progress bar until none is left but retries scheduled for later. Returns (jobs queued in all,
    jobs still to do). Refuses to wait when no worker is alive."""
    app = ready_app(settings)
    with open_store(settings) as store, app.open():
        first = _query(app, "SELECT coalesce(max(id), 0) AS n FROM procrastinate_jobs")
        queue_polls(app, store, settings, since)
        return _follow(app, first, reporter) if wait else _counts(app, first)


def _follow(app, since: int, reporter) -> tuple[int, int]:
    """Wait until every podsift job queued after job `since` is done, but retries set for later."""
    started, shown_total, shown_done = time.monotonic(), 0, 0
    reporter.start("Jobs", 0)
    while True:
        total, left = _counts(app, since)
        reporter.grow("Jobs", total - shown_total)
        reporter.advance("Jobs", (total - left) - shown_done)
        shown_total, shown_done = total, total - left
        if not left:
            return total, left
        alive = _query(app, WORKERS_ALIVE, secs=HEARTBEAT * STALLED_BEATS)
        if not alive and time.monotonic() - started > NO_WORKER_GRACE:
            raise PodsiftError(
                f"no podsift worker is running, and {left} job(s) wait: start `podsift worker` on a machine that "
                "reaches the store (the jobs stay queued until one does), or run `podsift scan --here`"
            )
        time.sleep(WAIT_POLL)


SCAN_TASKS = ("poll", "ingest", "extract")  # the work a scan queues and waits for
TASKS = "task_name IN (" + ", ".join(f"'podsift.{t}'" for t in SCAN_TASKS) + ")"
WORKERS_ALIVE = (
    "SELECT count(*) AS n FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => %(secs)s)"
)


def _counts(app, since: int) -> tuple[int, int]:
    """(podsift jobs queued after job `since`, those of them still waiting or running, but for
    retries scheduled for later)."""
    row = app.connector.get_sync_connector().execute_query_one(
        query=f"SELECT count(*) AS total, count(*) FILTER (WHERE status = 'doing' OR (status = 'todo' AND "
        f"(scheduled_at IS NULL OR scheduled_at <= now()))) AS left FROM procrastinate_jobs WHERE id > %(since)s "
        f"AND {TASKS}",
        since=since,
    )
    return row["total"], row["left"]


def _query(app, query: str, **args) -> int:
    return app.connector.get_sync_connector().execute_query_one(query=query, **args)["n"]
