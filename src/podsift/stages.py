"""Each stage of the pipeline as an idempotent function of one id, for a task queue
(`tasks.py`): poll a show, ingest an episode (the publisher's transcript, else its audio
downloaded to this machine and transcribed), extract its insights. Each reads what it needs
from the store and writes its result back, so it may run on any machine that reaches the
store, with no shared disk, and running it twice does the work once.

The in-process scan (`pipeline.scan`) does the same work with threads and progress bars; both
are built from the same parts (`scan.settle`, `fetch.*`, `Transcriber`, `Extractor`).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from .errors import PodsiftError
from .ingest.fetch import download_audio, fetch_transcript
from .ingest.scan import FeedResult, fetch_feed, settle
from .pipeline import Context

READY = ("new", "downloaded")  # an episode in these states has no transcript yet (nor one that failed before it)


@dataclass
class Outcome:
    """What a stage did to one episode, for the task's log and the next stage."""

    episode_id: int
    state: str  # the episode's state afterwards
    did: str  # what happened, in words


def poll(ctx: Context, show_id: int, since: datetime | None = None) -> tuple[FeedResult, list[int]]:
    """Fetch one show's feed and store its new episodes (with `since`, every one published since
    then, as `podsift scan --since` takes them); returns the result and the ids of the episodes now
    waiting to be ingested."""
    show = ctx.store.shows.get(show_id)
    result = settle(ctx.store, show, lambda: fetch_feed(ctx.fetcher, show, ctx.settings), ctx.settings, since)
    waiting = [e.id for e in ctx.store.episodes.matching(states=("new",), show_id=show_id)]
    return result, waiting


def ingest(ctx: Context, episode_id: int) -> Outcome:
    """Bring one episode to 'transcribed': the publisher's transcript when it has a usable one,
    else its audio, downloaded into a folder of this machine's own and transcribed there. An
    episode past this stage is left as it is; one that failed before it is tried again. A failure
    raises; the caller records it."""
    episode = ctx.store.episodes.get(episode_id)
    if not (episode.state in READY or (episode.state == "failed" and not ctx.store.transcripts.exists(episode_id))):
        return Outcome(episode_id, episode.state, "nothing to do")
    note, started = "", time.perf_counter()
    try:
        published = fetch_transcript(ctx.fetcher, episode, ctx.settings)  # None: the feed offers none
    except PodsiftError as exc:
        published, note = None, f"publisher transcript unusable ({exc}); "
    if published is not None:
        ctx.store.transcripts.save(episode_id, published, time.perf_counter() - started)
        return Outcome(episode_id, "transcribed", "the publisher's transcript")
    with tempfile.TemporaryDirectory(prefix="podsift-audio-") as folder:
        local = replace(ctx.settings, home=Path(folder))  # no shared disk: the audio is this worker's own
        started = time.perf_counter()
        path = download_audio(ctx.fetcher, episode, local, None)
        transcript = ctx.transcriber.transcribe(path, None)
        ctx.store.transcripts.save(episode_id, transcript, time.perf_counter() - started)
    return Outcome(episode_id, "transcribed", f"{note}transcribed {transcript.duration:.0f} s of audio")


def extract(ctx: Context, episode_id: int) -> Outcome:
    """Find and store one transcribed episode's insights (or one whose extraction failed before);
    an episode in any other state is left as it is (not transcribed yet, or extracted already)."""
    episode = ctx.store.episodes.get(episode_id)
    if not (episode.state == "transcribed" or (episode.state == "failed" and ctx.store.transcripts.exists(episode_id))):
        return Outcome(episode_id, episode.state, "nothing to do")
    insights = ctx.extractor.extract(ctx.store.transcripts.get(episode_id), episode.title, episode.description)
    ctx.store.insights.save(episode_id, insights)
    return Outcome(episode_id, "extracted", f"{len(insights)} insights")
