"""`[scan] time_budget`: the most valuable episodes are transcribed first, and what does not fit
waits for the next scan. A real scan against a real HTTP server with real speech-to-text."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta, timezone

from conftest import rss, transcript
from test_scan import states
from test_store import unit

from podsift.ingest.plan import Budget, by_value
from podsift.insights.extract import Insight
from podsift.models import Episode, FeedItem
from podsift.net import Fetcher
from podsift.pipeline import Context, scan
from podsift.progress import Reporter
from podsift.store import Store

HOUR = timedelta(hours=1)


class Notes(Reporter):
    """Keeps the scan's notes, as the progress display would show them."""

    def __init__(self):
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


def budgeted(settings, minutes: float):
    return dataclasses.replace(settings, scan=dataclasses.replace(settings.scan, time_budget=minutes))


def scan_once(settings, whisper):
    notes = Notes()
    with Store.open(settings.db_path) as store, Fetcher(settings) as fetcher:
        report = scan(Context(settings, store, fetcher, whisper, reporter=notes))
    return report, notes.notes


def publish(server, clips, name: str, ages: list[int]) -> str:
    """A feed whose episode i is clip i, published ages[i] hours ago."""
    now = datetime.now(timezone.utc)
    items = []
    for i, age in enumerate(ages):
        (server.root / f"{name}{i}.mp3").write_bytes(clips[i].read_bytes())
        audio = f"{server.url}/{name}{i}.mp3"
        items.append({"guid": f"{name}-{i}", "title": f"{name} {i}", "audio": audio, "published": now - age * HOUR})
    (server.root / f"{name}.xml").write_text(rss(name.title(), items))
    return f"{server.url}/{name}.xml"


def follow_with_a_liked_insight(store: Store, liked_url: str, other_url: str) -> None:
    """Follow both feeds; the reader voted up an insight of an earlier episode of the first."""
    me = store.people.local()
    liked, _ = store.shows.subscribe(me, liked_url)
    store.shows.subscribe(me, other_url)
    earlier = datetime(2026, 1, 1, tzinfo=timezone.utc)
    item = FeedItem("earlier", "Earlier", "https://x.example/e.mp3", published=earlier)
    episode_id = store.episodes.add(liked.id, item, "new")
    sentences = ["Ice flows downhill under its own weight, a metre a day."]
    store.transcripts.save(episode_id, transcript(sentences))
    store.insights.save(episode_id, [Insight(sentences[0], sentences[0], 0.0, 4.0, 0.9, {}, unit(1, 0), rank=1)])
    store.insights.vote(me, store.insights.matching(episode_ids=[episode_id])[0].id, 1)


def test_a_spent_budget_takes_the_liked_show_first_then_the_newest_and_the_rest_waits(settings, server, clips, whisper):
    # The liked show's episode is the oldest of the three; without votes it would go last.
    liked = publish(server, clips, "liked", [5])
    other = publish(server, clips[1:], "other", [3, 1])
    with Store.open(settings.db_path) as store:
        follow_with_a_liked_insight(store, liked, other)
    tight = budgeted(settings, 0.001)  # 60 ms: spent before the first episode is done

    first, notes = scan_once(tight, whisper)
    assert first.transcribed == 1 and first.deferred == 2
    assert states(settings)["liked-0"][0] == "transcribed"
    assert {states(settings)[g][0] for g in ("other-0", "other-1")} == {"new"}
    assert server.hits("/other0.mp3") == server.hits("/other1.mp3") == 0, "nothing downloaded that waits"
    assert any("2 episodes wait for the next scan" in n and "time_budget" in n for n in notes), notes

    second, _ = scan_once(tight, whisper)
    assert second.transcribed == 1 and states(settings)["other-1"][0] == "transcribed", "the newest next"
    assert states(settings)["other-0"][0] == "new"

    third, notes = scan_once(tight, whisper)
    assert third.transcribed == 1 and third.deferred == 0 and not notes
    assert {states(settings)[g][0] for g in ("liked-0", "other-0", "other-1")} == {"transcribed"}


def test_without_a_budget_one_scan_takes_everything_most_valuable_first(settings, server, clips, whisper):
    liked = publish(server, clips, "liked", [5])
    other = publish(server, clips[1:], "other", [3, 1])
    with Store.open(settings.db_path) as store:
        follow_with_a_liked_insight(store, liked, other)
    report, notes = scan_once(settings, whisper)
    assert report.transcribed == 3 and report.deferred == 0 and not notes
    downloads = [p for p, _ in server.requests if p.endswith(".mp3")]
    assert downloads[0] == "/liked0.mp3" and downloads.index("/other1.mp3") < downloads.index("/other0.mp3")


def episode(show_id: int, hours_ago: float, duration: float = 0.0, audio_bytes: int = -1) -> Episode:
    published = datetime(2026, 12, 1, 12, tzinfo=timezone.utc) - hours_ago * HOUR
    return Episode(
        id=int(hours_ago * 10) + show_id,
        show_id=show_id,
        guid="g",
        title="t",
        audio_url="https://x.example/a.mp3",
        state="new",
        published_at=published,
        duration=duration,
        audio_bytes=audio_bytes,
    )


def test_votes_come_before_age_and_down_votes_after_no_votes():
    fresh, liked, disliked, old = episode(1, 1), episode(2, 30), episode(3, 2), episode(1, 40)
    assert by_value([old, disliked, fresh, liked], {2: 3, 3: -1}) == [liked, fresh, old, disliked]


def test_an_episode_fits_when_its_expected_work_ends_within_what_is_left():
    budget = Budget(seconds=100, speed=10.0, started=time.monotonic())
    hour = episode(1, 1, duration=3600)  # 360 s of work at 10x real time
    assert budget.fits(hour), "the first episode of a scan always goes"
    assert not budget.fits(hour, promised=1.0)
    assert budget.fits(episode(1, 1, duration=900), promised=5.0)  # 90 s + 5 s < 100 s
    assert not budget.fits(episode(1, 1, duration=900), promised=15.0)
    budget.record(audio_seconds=600, work_seconds=10)  # this scan runs at 60x: its own speed counts now
    assert budget.fits(hour)  # 60 s of work in the 90 s left
    # Without a duration, the length comes from the size at 128 kbit/s: 96 MB is 6,000 s, 100 s of work.
    assert not budget.fits(episode(1, 1, audio_bytes=96_000_000))
    assert Budget(seconds=0).fits(hour, promised=10**6), "no budget: everything fits"
