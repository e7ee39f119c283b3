"""The whole scan in one screen: poll feeds -> publisher transcripts -> download audio while
transcribing what has arrived, and extract insights from each transcript as it is stored; then, per
recipient, the day's digest and its email (`deliver_day`; `schedule.daily_job` runs a day). Each
step takes episodes in one state from the store and moves them to the next, so a crash or Ctrl-C
anywhere resumes from the store on the next run.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .deliver.mail import SmtpServer, deliver_email
from .deliver.rank import Digest, digest_for
from .errors import PodsiftError, describe
from .ingest.fetch import best_transcript_links, download_audio, expected_bytes, fetch_transcript, no_room
from .ingest.plan import FIRST_SPEED, Budget, by_value, value
from .ingest.scan import FeedResult, due, fetch_feed, settle
from .insights.cards import CardReport, edit_cards
from .insights.embed import Embedder
from .insights.extract import Extractor
from .models import Delivery, Episode, Recipient
from .net import Fetcher, ModelEndpoint
from .progress import Reporter
from .settings import Settings
from .store import UNSUBSCRIBED, Store, holder_name, iso, open_store
from .transcribe.whisper import Transcriber

EPOCH = datetime.min.replace(tzinfo=timezone.utc)
CLAIM_LEASE = timedelta(minutes=5)  # another machine takes over an episode this long after its holder stops renewing
CLAIM_RENEW = timedelta(minutes=1)
OTHERS_POLL = 2.0  # seconds between looks at another process's progress
log = logging.getLogger("podsift.scan")


@dataclass
class ScanReport:
    """What a scan did, for the closing summary."""

    feeds: list[FeedResult] = field(default_factory=list)
    reused: int = 0  # episodes whose publisher transcript was used
    transcribed: int = 0  # episodes transcribed from audio
    deferred: int = 0  # episodes left for the next scan: no room in the cache or on the disk, or no time left
    failures: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    extracted: int = 0  # episodes whose insights were extracted
    insights: int = 0
    waited_for: set[str] = field(default_factory=set)  # other processes whose claimed episodes this scan awaited
    audio_seconds: float = 0.0  # audio transcribed by speech-to-text
    transcribe_seconds: float = 0.0
    wall_seconds: float = 0.0
    cards: CardReport | None = None  # what the language model edited, when one is set

    @property
    def new_episodes(self) -> int:
        return sum(f.new_episodes for f in self.feeds)

    def summary(self) -> str:
        """The scan in a line."""
        failed = sum(f.outcome == "failed" for f in self.feeds)
        return (
            f"{len(self.feeds)} feeds checked ({failed} failed), {self.new_episodes} new episodes, "
            f"{self.reused + self.transcribed} transcripts, {self.extracted} with insights, "
            f"{len(self.failures)} episodes failed"
        )

    @property
    def speed(self) -> float:
        """Audio seconds transcribed per wall-clock second of the whole scan."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds else 0.0


@dataclass
class Context:
    """What every step of a scan needs."""

    settings: Settings
    store: Store
    fetcher: Fetcher
    transcriber: Transcriber
    extractor: Extractor | None = None  # None: stop at transcripts
    reporter: Reporter = field(default_factory=Reporter)
    stop: threading.Event = field(default_factory=threading.Event)
    holder: str = field(default_factory=holder_name)  # whose claims this scan's work is under

    def claim(self, episode: Episode, *states: str) -> bool:
        """Take `episode` for this scan, if it is still in one of `states` and no live process has it."""
        at = datetime.now(timezone.utc)
        return self.store.episodes.claim(episode.id, states, self.holder, iso(at + CLAIM_LEASE), iso(at))


def scan(ctx: Context, since: datetime | None = None) -> ScanReport:
    """Poll every followed feed, then bring every queued episode to 'transcribed' (and 'extracted'
    with an extractor). Another scan at work on some episodes is waited for, so that when this
    returns, every queued episode is done, by this scan or another."""
    started, report = time.perf_counter(), ScanReport()
    try:
        with recorded(ctx, report):
            _scan(ctx, since, report)
    finally:
        ctx.stop.set()  # tells download threads to give up when Ctrl-C or an error ends the scan
        report.wall_seconds = time.perf_counter() - started
        ctx.reporter.close()
    return report


def _scan(ctx: Context, since: datetime | None, report: ScanReport) -> None:
    report.feeds = poll_feeds(ctx, since)
    ctx.store.episodes.requeue(
        ("skipped", "failed") if since else ("failed",), since or EPOCH, ctx.settings.scan.max_attempts
    )
    with holding_claims(ctx), extracting(ctx, report):
        while True:
            needs_audio = reuse_publisher_transcripts(ctx, report)
            download_and_transcribe(ctx, needs_audio, report)
            if not wait_for_others(ctx, report):
                break
    if ctx.extractor is not None and ctx.settings.llm.base_url:  # optional: a model edits the insights into cards
        with ModelEndpoint(ctx.settings) as endpoint:
            report.cards = edit_cards(ctx.store, endpoint, ctx.extractor.embedder, ctx.reporter, since)


def deliver_day(
    ctx: Context, recipient: Recipient, day: date, embedder: Embedder, server: SmtpServer | None
) -> tuple[Digest, Delivery | None]:
    """Build a recipient's digest for `day` and email it, once; the delivery is None when nothing is sent.

    Sending fixes the digest (it is stored as sent). Nothing is sent on a day with nothing worth
    sending, to a recipient without email or who unsubscribed, or when no SMTP server is
    configured: the digest is still built, and stored once the day is settled, for the web app
    and the Atom feed."""
    sending = server is not None and bool(recipient.email) and not recipient.unsubscribed_at
    # Sending keeps the digest even if more may come: what goes out now stays as sent.
    digest = digest_for(ctx.store, ctx.settings, recipient.id, day, embedder, keep=sending)
    if digest.empty or not sending:
        return digest, None
    delivery = deliver_email(
        ctx.store, ctx.settings, server, recipient, digest.day, digest.items, digest.id, digest.sections
    )
    return digest, delivery


def retry_outbox(ctx: Context, embedder: Embedder, server: SmtpServer | None) -> list[Delivery]:
    """Send every email still owed: those whose retry time has come after a temporary failure, and
    those whose sender died mid-send (once its lease ends, or at once if it ran on this machine)."""
    if server is None:
        return []
    sent = []
    for owed in ctx.store.outbox.unsent():
        recipient = ctx.store.people.get(owed.recipient_id)
        if recipient.unsubscribed_at:  # owed from before they left: owed no more
            ctx.store.outbox.cancel(owed.id, UNSUBSCRIBED)
            continue
        _, delivery = deliver_day(ctx, recipient, date.fromisoformat(owed.day), embedder, server)
        if delivery and delivery.status != owed.status:
            sent.append(delivery)
    return sent


def poll_feeds(ctx: Context, since: datetime | None) -> list[FeedResult]:
    """Fetch every followed, unpaused feed in parallel; store each result as it arrives."""
    at = datetime.now(timezone.utc)
    shows = [s for s in ctx.store.shows.followed() if due(s, at)]
    ctx.reporter.start("Feeds", len(shows))
    results = []
    with ThreadPoolExecutor(ctx.settings.scan.feed_workers, thread_name_prefix="feed") as pool:
        futures = {pool.submit(fetch_feed, ctx.fetcher, show, ctx.settings): show for show in shows}
        for future in _as_completed(futures, ctx.stop):
            show = futures[future]
            result = settle(ctx.store, show, future.result, ctx.settings, since)
            if result.message:
                ctx.reporter.note(f"{show.title}: {result.message}" if show.title else result.message)
            results.append(result)
            ctx.reporter.advance("Feeds")
    return results


def reuse_publisher_transcripts(ctx: Context, report: ScanReport) -> list[Episode]:
    """Store the publisher's transcript of every queued episode that has one; return the rest,
    unclaimed: the download claims each as it starts."""
    queued = ctx.store.episodes.claimable(("new",), iso(datetime.now(timezone.utc)))
    language = ctx.settings.transcribe.language
    with_links = [e for e in queued if best_transcript_links(e.transcript_links, language) and ctx.claim(e, "new")]
    needs_audio = [e for e in queued if not best_transcript_links(e.transcript_links, language)]
    if not with_links:
        return needs_audio
    ctx.reporter.start("Transcripts", len(with_links))
    with ThreadPoolExecutor(ctx.settings.scan.feed_workers, thread_name_prefix="transcript") as pool:
        futures = {pool.submit(timed_call, fetch_transcript, ctx.fetcher, e, ctx.settings): e for e in with_links}
        for future in _as_completed(futures, ctx.stop):
            episode = futures[future]
            try:
                transcript, seconds = future.result()
                ctx.store.transcripts.save(episode.id, transcript, seconds)
                report.reused += 1
            except PodsiftError as exc:
                ctx.reporter.note(f"{episode.title}: publisher transcript unusable ({exc}); transcribing the audio")
                ctx.store.episodes.release_claims(ctx.holder, episode.id)
                needs_audio.append(episode)
            ctx.reporter.advance("Transcripts")
    return needs_audio


def download_and_transcribe(ctx: Context, queued: list[Episode], report: ScanReport) -> None:
    """Download audio in worker threads while this thread transcribes each file as it lands, the
    most valuable episodes first and, with a time budget, only those expected to fit in it."""
    minutes = ctx.settings.scan.time_budget
    speed = (ctx.store.transcripts.speech_speed() if minutes else None) or FIRST_SPEED  # only a budget asks
    budget = Budget(minutes * 60, speed)
    votes = ctx.store.insights.votes_by_show()
    ready = sorted(_resume_downloaded(ctx), key=lambda item: value(item[0], votes), reverse=True)
    pending = by_value(queued, votes)
    total = sum(e.duration for e in pending + [e for e, _ in ready])
    ctx.reporter.start("Downloads", len(pending))
    ctx.reporter.start("Transcribing", round(total), "audio s")
    waiting: list[Episode] = []  # downloaded, but past the budget
    with ThreadPoolExecutor(ctx.settings.scan.download_workers, thread_name_prefix="download") as pool:
        running: dict[Future, Episode] = {}
        wait_reason = ""
        try:
            while True:
                promised = sum(budget.work(e) for e in [*running.values(), *(e for e, _ in ready)])
                wait_reason = _submit_downloads(ctx, pool, pending, running, budget, promised)
                if ready:
                    episode, path = ready.pop(0)
                    if budget.fits(episode):
                        _transcribe_one(ctx, episode, path, report, budget)
                    else:
                        waiting.append(episode)
                    continue
                if not running:
                    break
                done, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    ready += _downloaded(ctx, running.pop(future), future, report)
        except BaseException:
            ctx.stop.set()  # before the pool waits for its threads: they abort at their next chunk
            raise
    report.deferred = len(pending) + len(waiting)
    if report.deferred:
        why = budget.reason() if waiting else wait_reason
        ctx.reporter.note(f"{report.deferred} episodes wait for the next scan: {why}")


@contextmanager
def recorded(ctx: Context, report: ScanReport):
    """Record the scan in the store's runs, for `podsift status`: how it ended and what it did."""
    run = ctx.store.runs.start("scan", ctx.holder)
    try:
        yield
    except BaseException as exc:
        ctx.store.runs.end(run, "failed" if isinstance(exc, Exception) else "stopped", report.summary(), describe(exc))
        raise
    ctx.store.runs.end(run, "ok", report.summary())


@contextmanager
def holding_claims(ctx: Context):
    """Renew this scan's claims from a thread of its own while the block works, and end them all
    when it is over, however it ends: what is left unfinished is free for the next scan."""
    done = threading.Event()

    def renew() -> None:
        with open_store(ctx.settings) as store:
            while not done.wait(CLAIM_RENEW.total_seconds()):
                store.episodes.renew_claims(ctx.holder, iso(datetime.now(timezone.utc) + CLAIM_LEASE))

    renewer = threading.Thread(target=renew, name="claims", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()
        ctx.store.episodes.release_claims(ctx.holder)


def wait_for_others(ctx: Context, report: ScanReport) -> bool:
    """While another live process works on queued episodes, wait a moment and say so (True: look
    again, for what it frees or leaves behind); False once nobody else is at work."""
    others = ctx.store.episodes.others_at_work(ctx.holder, iso(datetime.now(timezone.utc)))
    if not others or ctx.stop.is_set():
        return False
    for holder, count in others.items():
        if holder not in report.waited_for:
            ctx.reporter.note(f"another podsift process ({holder}) is at work on {count} episode(s); waiting for it")
            report.waited_for.add(holder)
    ctx.stop.wait(OTHERS_POLL)
    return True


@contextmanager
def extracting(ctx: Context, report: ScanReport):
    """Extract insights in a thread of its own while the block transcribes. The store is the queue:
    the thread takes every episode that reaches 'transcribed' until the block is over."""
    if ctx.extractor is None:
        yield
        return
    transcribing = threading.Event()
    transcribing.set()
    with ThreadPoolExecutor(1, thread_name_prefix="extract") as pool:
        extraction = pool.submit(extract_insights, ctx, report, transcribing)
        try:
            yield
        except BaseException:
            ctx.stop.set()  # the thread stops after its current episode; the next scan does the rest
            raise
        finally:
            transcribing.clear()
        extraction.result()


def extract_insights(ctx: Context, report: ScanReport, transcribing: threading.Event) -> None:
    """Find and store the insights of every transcribed episode, on a connection of its own; while
    `transcribing` is set, keep watching for more."""
    ctx.reporter.start("Insights", 0)
    with open_store(ctx.settings) as store:
        mine = dataclasses.replace(ctx, store=store)  # claims made on this thread's own connection
        while not ctx.stop.is_set():
            last_look = not transcribing.is_set()
            episodes = store.episodes.claimable(("transcribed",), iso(datetime.now(timezone.utc)))
            ctx.reporter.grow("Insights", len(episodes))
            for episode in episodes:
                if ctx.stop.is_set():
                    return
                if mine.claim(episode, "transcribed"):
                    _extract_one(mine, episode, report)
                ctx.reporter.advance("Insights")
            if last_look:
                return
            if not episodes:
                time.sleep(0.5)


def _extract_one(ctx: Context, episode: Episode, report: ScanReport) -> None:
    """One episode's insights, stored; whatever goes wrong fails this episode alone (and later scans
    retry it from its transcript), never the scan."""
    try:
        insights = ctx.extractor.extract(ctx.store.transcripts.get(episode.id), episode.title, episode.description)
    except Exception as exc:  # a bug or a row it cannot read: one episode must not stop every scan
        log.exception("reading the insights of episode %s failed", episode.id)
        _fail(ctx, episode, f"reading its insights failed ({describe(exc)}); this is a bug: please report it", report)
        return
    ctx.store.insights.save(episode.id, insights)
    report.extracted += 1
    report.insights += len(insights)


def _resume_downloaded(ctx: Context) -> list[tuple[Episode, Path]]:
    """Audio an earlier, interrupted scan downloaded but did not transcribe, claimed for this one."""
    ready = []
    for episode in ctx.store.episodes.claimable(("downloaded",), iso(datetime.now(timezone.utc))):
        if not ctx.claim(episode, "downloaded"):
            continue
        path = Path(episode.audio_path or "")
        if episode.audio_path and path.exists():
            ready.append((episode, path))
        else:
            ctx.store.episodes.set_state(episode.id, "new", release=True)
    return ready


def _submit_downloads(
    ctx: Context, pool, pending: list[Episode], running: dict, budget: Budget, promised: float
) -> str:
    """Start downloads while workers, room and the time budget allow (`promised`: the seconds of
    transcription already waiting or downloading); returns why the next one waits, if it does."""
    while pending and len(running) < ctx.settings.scan.download_workers:
        reserved = sum(expected_bytes(e) for e in running.values())
        why = no_room(ctx.settings, pending[0], reserved)
        if not why and not budget.fits(pending[0], promised):
            why = budget.reason()
        if why:
            return why
        episode = pending.pop(0)
        if ctx.claim(episode, "new"):  # else another scan took it since it was listed
            running[pool.submit(_download, ctx, episode)] = episode
            promised += budget.work(episode)
        else:
            ctx.reporter.advance("Downloads")
    return ""


def _download(ctx: Context, episode: Episode) -> Path:
    """Worker thread: one download; the bar moves when the file lands, not when the main thread looks."""
    try:
        return download_audio(ctx.fetcher, episode, ctx.settings, _stopper(ctx.stop))
    finally:
        ctx.reporter.advance("Downloads")


def _downloaded(ctx: Context, episode: Episode, future: Future, report: ScanReport) -> list[tuple[Episode, Path]]:
    try:
        path = future.result()
    except PodsiftError as exc:
        _fail(ctx, episode, f"download failed: {exc}", report)
        return []
    ctx.store.episodes.set_state(episode.id, "downloaded", audio_path=str(path))
    return [(episode, path)]


def _transcribe_one(ctx: Context, episode: Episode, path: Path, report: ScanReport, budget: Budget) -> None:
    done = [0.0]

    def progress(seconds: float) -> None:
        ctx.reporter.advance("Transcribing", seconds - done[0])
        done[0] = seconds

    try:
        transcript, seconds = timed_call(ctx.transcriber.transcribe, path, progress)
    except PodsiftError as exc:
        _fail(ctx, episode, f"transcription failed: {exc}", report)
        if not ctx.settings.audio.keep:  # the retry downloads it again: a bad file must not fill the cache
            path.unlink(missing_ok=True)
        return
    if not episode.duration:
        ctx.reporter.grow("Transcribing", transcript.duration)
    ctx.store.transcripts.save(episode.id, transcript, seconds)
    report.transcribed += 1
    report.audio_seconds += transcript.duration
    report.transcribe_seconds += seconds
    budget.record(transcript.duration, seconds)
    if not ctx.settings.audio.keep:
        path.unlink(missing_ok=True)


def _fail(ctx: Context, episode: Episode, reason: str, report: ScanReport) -> None:
    ctx.store.episodes.fail(episode.id, reason)
    report.failures.append((f"{episode.show_title}: {episode.title}", reason))
    ctx.reporter.note(f"{episode.title}: {reason}")


def _stopper(stop: threading.Event):
    """A download progress callback that aborts the download once the scan is stopping."""

    def check(done: int, total: int) -> None:
        if stop.is_set():
            raise PodsiftError("scan interrupted; the download restarts on the next scan")

    return check


def timed_call(fn, *args):
    """Call `fn(*args)`; return its result and the seconds it took."""
    started = time.perf_counter()
    return fn(*args), time.perf_counter() - started


def _as_completed(futures: dict[Future, object], stop: threading.Event):
    """Futures as they finish; on Ctrl-C, the ones not started are cancelled."""
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            yield from done
    except BaseException:
        stop.set()
        for future in pending:
            future.cancel()
        raise
