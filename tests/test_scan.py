"""Scanning end to end against a real HTTP server on loopback, with real speech-to-text."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from conftest import VTT, rss

from podsift.cli import main
from podsift.insights.extract import Extractor
from podsift.net import Fetcher
from podsift.pipeline import Context, scan
from podsift.store import Store


class Counting:
    """Wraps the real transcriber to count calls, and can stop the scan like Ctrl-C would."""

    def __init__(self, inner, interrupt_after: int | None = None):
        self.inner, self.calls, self.interrupt_after = inner, [], interrupt_after
        self.name = inner.name

    def transcribe(self, audio, progress=None):
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(audio.name)
        return self.inner.transcribe(audio, progress)


def run_scan(settings, transcriber, since=None, extractor=None):
    with Store.open(settings.db_path) as store, Fetcher(settings) as fetcher:
        return scan(Context(settings, store, fetcher, transcriber, extractor), since)


def subscribe(settings, *urls):
    with Store.open(settings.db_path) as store:
        for url in urls:
            store.shows.subscribe(store.people.local(), url)


def publish(server, clips, name="show", count=2, extra=None):
    """Put `count` clips and a feed listing them on the server; returns the feed URL."""
    items = []
    for i in range(count):
        shutil.copy(clips[i], server.root / f"{name}{i}.mp3")
        items.append(
            {
                "guid": f"{name}-{i}",
                "title": f"{name} episode {i}",
                "audio": f"{server.url}/{name}{i}.mp3",
                **(extra or {}).get(i, {}),
            }
        )
    (server.root / f"{name}.xml").write_text(rss(name.title(), items))
    return f"{server.url}/{name}.xml"


def states(settings):
    with Store.open(settings.db_path) as store:
        return {e.guid: (e.state, e.error) for e in store.episodes.matching()}


def test_scan_transcribes_new_episodes_with_sentence_times(settings, server, clips, whisper):
    subscribe(settings, publish(server, clips))
    report = run_scan(settings, whisper)
    assert report.transcribed == 2 and report.new_episodes == 2 and not report.failures
    assert report.audio_seconds > 3 and report.speed > 0
    with Store.open(settings.db_path) as store:
        episode = store.episodes.lookup("show-1")
        transcript = store.transcripts.get(episode.id)
    assert transcript.source == "whisper"
    assert "spoils" in transcript.text.lower()
    assert transcript.segments[0].start < 1.0 < transcript.segments[-1].end
    assert not list(settings.audio_dir.glob("*")), "audio is deleted once transcribed"


def test_publisher_transcript_is_used_instead_of_speech_to_text(settings, server, clips, whisper):
    (server.root / "t.vtt").write_bytes(VTT)
    url = publish(server, clips, extra={0: {"transcript": f"{server.url}/t.vtt"}})
    subscribe(settings, url)
    counting = Counting(whisper)
    report = run_scan(settings, counting)
    assert report.reused == 1 and report.transcribed == 1
    assert len(counting.calls) == 1
    assert server.hits("/show0.mp3") == 0, "no audio download when the publisher's transcript is used"
    with Store.open(settings.db_path) as store:
        transcript = store.transcripts.get(store.episodes.lookup("show-0").id)
    assert transcript.source == "publisher"
    assert [s.text for s in transcript.segments] == [
        "Glass is not a slow liquid.",
        "Old windows are thicker at the bottom because of how they were made, not because they flowed.",
    ]
    assert transcript.segments[1].speaker == "Ada"
    # "Glass is not a slow liquid. " is 28 of the first cue's 66 characters: 4 s * 28/66 = 1.7 s.
    assert 1.6 < transcript.segments[1].start < 1.8


def test_broken_publisher_transcript_falls_back_to_audio(settings, server, clips, whisper):
    (server.root / "t.vtt").write_bytes(b"this is not a transcript")
    subscribe(settings, publish(server, clips, count=1, extra={0: {"transcript": f"{server.url}/t.vtt"}}))
    report = run_scan(settings, whisper)
    assert report.reused == 0 and report.transcribed == 1
    assert states(settings)["show-0"][0] == "transcribed"


def test_unchanged_feed_costs_a_304_and_no_parsing(settings, server, clips, whisper):
    subscribe(settings, publish(server, clips, count=1))
    run_scan(settings, whisper)
    second = run_scan(settings, whisper)
    assert [f.outcome for f in second.feeds] == ["unchanged"]
    assert server.requests[-1][1], "the second fetch sends If-None-Match"
    assert second.new_episodes == 0 and second.transcribed == 0


def test_missing_enclosure_fails_that_episode_only_and_is_retried(settings, server, clips, whisper):
    subscribe(settings, publish(server, clips))
    server.status["/show1.mp3"] = 404
    report = run_scan(settings, whisper)
    assert report.transcribed == 1
    state, error = states(settings)["show-1"]
    assert state == "failed" and "HTTP 404" in error and "retries on the next scan" in error
    assert report.failures and "show episode 1" in report.failures[0][0]

    del server.status["/show1.mp3"]
    again = run_scan(settings, whisper)
    assert again.transcribed == 1
    assert states(settings)["show-1"] == ("transcribed", None)


def test_retries_stop_after_max_attempts(settings, server, clips, whisper):
    import dataclasses

    settings = dataclasses.replace(settings, scan=dataclasses.replace(settings.scan, max_attempts=2))
    subscribe(settings, publish(server, clips, count=1))
    server.status["/show0.mp3"] = 404
    for _ in range(3):
        run_scan(settings, whisper)
    assert server.hits("/show0.mp3") == 2
    with Store.open(settings.db_path) as store:
        assert store.episodes.lookup("show-0").attempts == 2


def test_malformed_feed_fails_alone(settings, server, clips, whisper):
    good = publish(server, clips, count=1)
    (server.root / "bad.xml").write_bytes(b"<html><body>Moved to our new site!</body></html>")
    (server.root / "junk.xml").write_bytes(b"\x00\x01 not xml at all <<<")
    subscribe(settings, f"{server.url}/bad.xml", good, f"{server.url}/junk.xml")
    report = run_scan(settings, whisper)
    outcomes = {f.show.feed_url.rsplit("/", 1)[1]: (f.outcome, f.message) for f in report.feeds}
    assert outcomes["show.xml"][0] == "updated"
    assert outcomes["bad.xml"][0] == "failed" and "web page, not a podcast feed" in outcomes["bad.xml"][1]
    assert outcomes["junk.xml"][0] == "failed" and "not XML" in outcomes["junk.xml"][1]
    assert report.transcribed == 1
    with Store.open(settings.db_path) as store:
        errors = {s.feed_url.rsplit("/", 1)[1]: s.error for s in store.shows.followed()}
    assert errors["show.xml"] is None and "web page" in errors["bad.xml"]


def test_interrupted_scan_resumes_without_transcribing_twice(settings, server, clips, whisper):
    subscribe(settings, publish(server, clips, count=3))
    first = Counting(whisper, interrupt_after=1)
    with pytest.raises(KeyboardInterrupt):
        run_scan(settings, first)
    assert sorted(s for s, _ in states(settings).values()).count("transcribed") == 1

    second = Counting(whisper)
    report = run_scan(settings, second)
    assert report.transcribed == 2
    assert len(second.calls) == 2 and not set(second.calls) & set(first.calls)
    assert all(state == "transcribed" for state, _ in states(settings).values())


def test_first_scan_takes_only_recent_episodes_and_since_widens_it(settings, server, clips, whisper):
    old = datetime.now(timezone.utc) - timedelta(days=40)
    items = {i: {"published": old - timedelta(days=i)} for i in range(2)}
    subscribe(settings, publish(server, clips, count=4, extra=items))
    report = run_scan(settings, whisper)
    assert report.transcribed == 2  # episodes 2 and 3: recent; 0 and 1: back catalogue
    assert states(settings)["show-0"][0] == "skipped"

    since = old - timedelta(days=1, hours=1)
    wider = run_scan(settings, whisper, since=since)
    assert wider.transcribed == 2
    assert all(state == "transcribed" for state, _ in states(settings).values())


def test_republished_items_and_changed_guids_make_no_duplicates(settings, server, clips, whisper):
    url = publish(server, clips, count=2)
    subscribe(settings, url)
    run_scan(settings, whisper)
    # The publisher re-publishes item 0 under a new guid and repeats item 1 twice.
    items = [
        {"guid": "brand-new-guid", "title": "show episode 0 (remastered title)", "audio": f"{server.url}/show0.mp3"},
        {"guid": "show-1", "title": "show episode 1", "audio": f"{server.url}/show1.mp3"},
        {"guid": "show-1", "title": "show episode 1", "audio": f"{server.url}/show1.mp3"},
    ]
    (server.root / "show.xml").write_text(rss("Show", items))
    report = run_scan(settings, whisper)
    assert report.new_episodes == 0 and report.transcribed == 0
    with Store.open(settings.db_path) as store:
        episodes = store.episodes.matching()
    assert len(episodes) == 2
    assert {e.title for e in episodes} == {"show episode 0 (remastered title)", "show episode 1"}


def test_an_episode_is_transcribed_once_for_every_follower(settings, server, clips, whisper):
    url = publish(server, clips, count=1)
    with Store.open(settings.db_path) as store:
        store.shows.subscribe(store.people.local(), url)
        other = store.db.insert("INSERT INTO recipients (email, created_at) VALUES ('b@example.com', 'now')")
        store.shows.subscribe(other, url)
    counting = Counting(whisper)
    run_scan(settings, counting)
    assert len(counting.calls) == 1
    with Store.open(settings.db_path) as store:
        assert len(store.episodes.matching()) == 1 and len(store.shows.followed()) == 1


def test_permanent_redirect_moves_the_feed(settings, server, clips, whisper):
    url = publish(server, clips, count=1)
    server.status["/old.xml"] = 301
    server.headers["/old.xml"] = {"Location": url}
    subscribe(settings, f"{server.url}/old.xml")
    report = run_scan(settings, whisper)
    assert report.transcribed == 1
    with Store.open(settings.db_path) as store:
        assert [s.feed_url for s in store.shows.followed()] == [url]


def test_ctrl_c_in_a_real_scan_loses_nothing(settings, server, clips, tmp_path):
    """`podsift scan` as a process, interrupted with SIGINT while a download hangs, then run again."""
    subscribe(settings, publish(server, clips, count=3))
    server.delay["/show2.mp3"] = 120.0  # still hanging when two transcripts are in, however loaded the machine
    env = {**os.environ, "PODSIFT_HOME": str(settings.home), "PODSIFT_ALLOW_PRIVATE_NETWORKS": "1"}
    scan_cmd = [sys.executable, "-m", "podsift", "scan"]
    process = subprocess.Popen(
        scan_cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As a terminal would start it: a shell's background job (`pytest &`) ignores SIGINT, and so would the scan.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while server.hits("/show2.mp3") == 0 or _count(settings, "transcripts") < 2:
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    time.sleep(1)
    server.delay.clear()  # the hanging download gets its answer, after the interrupt
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "Nothing is lost" in stderr, stderr
    assert states(settings)["show-2"][0] == "new"
    first_two = _transcript_rows(settings)

    rerun = subprocess.run(scan_cmd, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert all(state == "extracted" for state, _ in states(settings).values())  # the CLI goes on to insights
    rows = _transcript_rows(settings)
    assert len(rows) == 3 and {k: rows[k] for k in first_two} == first_two  # the first two were not redone
    assert not list(settings.audio_dir.glob("*.part"))


def _count(settings, table):
    with Store.open(settings.db_path) as store:
        return store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _transcript_rows(settings):
    with Store.open(settings.db_path) as store:
        return dict(store.db.execute("SELECT episode_id, created_at || work_seconds FROM transcripts").fetchall())


def test_full_audio_cache_defers_downloads_to_a_later_scan(settings, server, clips, whisper):
    import dataclasses

    settings = dataclasses.replace(settings, audio=dataclasses.replace(settings.audio, cache_mb=0, keep=True))
    subscribe(settings, publish(server, clips, count=2))
    report = run_scan(settings, whisper)
    # An empty cache takes one file even over the cap; the kept file then leaves no room for the next.
    assert (report.transcribed, report.deferred) == (1, 1)
    assert sorted(state for state, _ in states(settings).values()) == ["new", "transcribed"]
    for f in settings.audio_dir.iterdir():
        f.unlink()
    assert run_scan(settings, whisper).transcribed == 1


def _show(settings):
    with Store.open(settings.db_path) as store:
        return store.shows.followed()[0]


def test_retry_after_is_honoured(settings, server, whisper):
    server.status["/busy.xml"] = 503
    server.headers["/busy.xml"] = {"Retry-After": "120"}
    subscribe(settings, f"{server.url}/busy.xml")
    run_scan(settings, whisper)
    show = _show(settings)
    wait = (datetime.fromisoformat(show.next_check_at) - datetime.now(timezone.utc)).total_seconds()
    assert 100 < wait <= 120 and "503" in show.error
    run_scan(settings, whisper)
    assert server.hits("/busy.xml") == 1, "asked to wait, podsift did not knock again"


def test_repeated_failures_back_off_then_pause_and_success_resets(settings, server, clips, whisper):
    from podsift.ingest.scan import PAUSE_AFTER

    server.status["/flaky.xml"] = 500
    subscribe(settings, f"{server.url}/flaky.xml")
    run_scan(settings, whisper)
    assert _show(settings).next_check_at is None  # one failure: simply try again next scan
    run_scan(settings, whisper)
    wait = (datetime.fromisoformat(_show(settings).next_check_at) - datetime.now(timezone.utc)).total_seconds()
    assert 3500 < wait <= 3600  # the second in a row waits an hour
    with Store.open(settings.db_path) as store:
        store.db.execute("UPDATE shows SET error_count = %s, next_check_at = NULL", (PAUSE_AFTER - 1,))
    run_scan(settings, whisper)
    show = _show(settings)
    assert show.paused and "paused" in show.error
    hits = server.hits("/flaky.xml")
    run_scan(settings, whisper)
    assert server.hits("/flaky.xml") == hits  # paused feeds are not polled

    del server.status["/flaky.xml"]
    shutil.copy(clips[0], server.root / "a.mp3")
    (server.root / "flaky.xml").write_text(rss("Back", [{"guid": "g", "title": "t", "audio": f"{server.url}/a.mp3"}]))
    subscribe(settings, f"{server.url}/flaky.xml")  # subscribing again resumes it
    assert run_scan(settings, whisper).transcribed == 1
    show = _show(settings)
    assert not show.paused and show.error is None and show.error_count == 0


def test_a_gone_feed_is_paused_at_once(settings, server, whisper):
    server.status["/gone.xml"] = 410
    subscribe(settings, f"{server.url}/gone.xml")
    report = run_scan(settings, whisper)
    assert "moved or ended" in report.feeds[0].message and _show(settings).paused
    listed = CliRunner().invoke(main, ["feeds"]).output
    assert "paused" in listed and "gone.xml" in listed


class WaitsForInsights(Counting):
    """Before transcribing the second episode, waits (up to 60 s) to see the first one's insights stored."""

    def __init__(self, inner, settings):
        super().__init__(inner)
        self.settings, self.seen = settings, None

    def transcribe(self, audio, progress=None):
        if self.calls:
            with Store.open(self.settings.db_path) as store:
                deadline = time.monotonic() + 60
                while self.seen is None and time.monotonic() < deadline:
                    done = [e for e in store.episodes.matching() if e.state == "extracted"]
                    self.seen = done[0].guid if done else None
                    time.sleep(0.1)
        return super().transcribe(audio, progress)


def test_insights_are_extracted_while_later_episodes_are_transcribed(settings, server, clips, whisper, embedder):
    subscribe(settings, publish(server, clips))
    transcriber = WaitsForInsights(whisper, settings)
    report = run_scan(settings, transcriber, extractor=Extractor(embedder))
    assert transcriber.seen, "the first episode's insights were not stored before the second was transcribed"
    assert report.extracted == 2 and set(states(settings).values()) == {("extracted", None)}


def test_a_malformed_url_stored_by_an_older_install_fails_that_feed_alone(settings, server, clips, whisper):
    good = publish(server, clips, count=1)
    subscribe(settings, good)
    with Store.open(settings.db_path) as store:  # as `podsift subscribe` stored them before it checked URLs
        for url in ("http://[::1", "http://[::1]:99999/feed"):
            show = store.db.insert("INSERT INTO shows (feed_url, created_at) VALUES (%s, 'x')", (url,))
            store.db.execute("INSERT INTO subscriptions VALUES (1, %s, 'x')", (show,))
    report = run_scan(settings, whisper)
    outcomes = {f.show.feed_url: (f.outcome, f.message) for f in report.feeds}
    assert outcomes[good][0] == "updated" and report.transcribed == 1
    for url in ("http://[::1", "http://[::1]:99999/feed"):
        outcome, message = outcomes[url]
        assert outcome == "failed" and "is not a valid feed address" in message and "unsubscribe" in message, message


def test_one_episode_whose_insights_cannot_be_read_fails_alone_and_is_retried(
    settings, server, clips, whisper, embedder
):
    """A stored transcript that the extractor cannot read (here a sentence stored as null, as an
    older version could leave one) fails that episode with the reason; the others are extracted, the
    scan ends well, and the next scan tries it again from its transcript, not from its audio."""
    import json

    (server.root / "t.vtt").write_bytes(VTT)
    subscribe(settings, publish(server, clips, count=2, extra={0: {"transcript": f"{server.url}/t.vtt"}}))
    with Store.open(settings.db_path) as store, Fetcher(settings) as fetcher:
        scan(Context(settings, store, fetcher, Counting(whisper)), None)  # transcripts only
        bad = store.episodes.lookup("show-0")
        segments = json.loads(
            store.db.execute("SELECT segments FROM transcripts WHERE episode_id = %s", (bad.id,)).fetchone()[0]
        )
        segments[0][3] = None
        store.db.execute("UPDATE transcripts SET segments = %s WHERE episode_id = %s", (json.dumps(segments), bad.id))
    report = run_scan(settings, whisper, extractor=Extractor(embedder))
    assert report.extracted == 1 and [what for what, _ in report.failures] == ["Show: show episode 0"]
    state, error = states(settings)["show-0"]
    assert state == "failed" and "reading its insights failed" in error and "Error" in error, error
    assert states(settings)["show-1"] == ("extracted", None)
    with Store.open(settings.db_path) as store:
        store.db.execute(
            "UPDATE transcripts SET segments = %s WHERE episode_id = %s", (json.dumps([[0, 4, "", "Fine."]]), bad.id)
        )
    hits = server.hits("/show0.mp3")
    again = run_scan(settings, whisper, extractor=Extractor(embedder))
    assert again.transcribed == 0 and server.hits("/show0.mp3") == hits  # retried from its transcript
    assert states(settings)["show-0"] == ("extracted", None)


def test_a_failed_transcription_leaves_nothing_in_the_audio_cache(settings, server, whisper):
    (server.root / "noise.mp3").write_bytes(b"ID3" + bytes(range(256)) * 400)  # served as audio, but it is not
    (server.root / "feed.xml").write_text(
        rss("Noise", [{"guid": "n", "title": "Noise", "audio": f"{server.url}/noise.mp3"}])
    )
    subscribe(settings, f"{server.url}/feed.xml")
    report = run_scan(settings, whisper)
    assert report.failures and "transcription failed" in report.failures[0][1]
    assert not list(settings.audio_dir.iterdir()), "the failed episode's audio still counts against the cache"


def test_an_episode_without_a_date_is_dated_when_first_seen_and_reaches_that_day(settings, server, whisper, embedder):
    """A feed item with no pubDate (or one no parser can read) would belong to no day: it takes the
    time podsift first saw it, so it reaches a digest."""
    (server.root / "t.vtt").write_bytes(VTT.replace(b"Glass is not", b"Glass, contrary to the myth, is not"))
    (server.root / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
        "<channel><title>Undated</title><item><title>Glass</title><guid>g</guid><pubDate>sometime soon</pubDate>"
        f'<enclosure url="{server.url}/a.mp3" type="audio/mpeg"/>'
        f'<podcast:transcript url="{server.url}/t.vtt" type="text/vtt"/></item></channel></rss>'
    )
    subscribe(settings, f"{server.url}/feed.xml")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    run_scan(settings, whisper, extractor=Extractor(embedder))
    with Store.open(settings.db_path) as store:
        (episode,) = store.episodes.matching()
        assert episode.state == "extracted" and before <= episode.published_at <= datetime.now(timezone.utc)
        today = datetime.now(timezone.utc).date()
        from podsift.deliver.rank import day_bounds

        assert store.insights.matching(
            published=day_bounds(today, "UTC"), recipient_id=1
        )  # it is in today's candidates
