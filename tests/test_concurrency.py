"""Several scans on one home at once, as processes: two `podsift scan` started together, or a
`podsift scan` typed while `podsift serve` runs its daily job. Each episode is claimed by one of
them (a lease in the store), so it is downloaded, transcribed and extracted once, and every
command ends well."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from conftest import VTT, rss

from podsift.store import Store


def publish(server, clips, count: int, with_transcript: int = 1) -> str:
    """`count` spoken episodes; the first `with_transcript` of them also ship a publisher transcript."""
    (server.root / "t.vtt").write_bytes(VTT)
    items = []
    for i in range(count):
        shutil.copy(clips[i % len(clips)], server.root / f"ep{i}.mp3")
        server.delay[f"/ep{i}.mp3"] = 1.0  # long enough for the other scan to reach the same episode
        items.append(
            {
                "guid": f"ep-{i}",
                "title": f"Episode {i}",
                "audio": f"{server.url}/ep{i}.mp3",
                "published": datetime.now(timezone.utc) - timedelta(hours=i + 1),
                **({"transcript": f"{server.url}/t.vtt"} if i < with_transcript else {}),
            }
        )
    (server.root / "feed.xml").write_text(rss("Busy", items))
    return f"{server.url}/feed.xml"


def start(settings, *args):
    env = {**os.environ, "PODSIFT_HOME": str(settings.home), "PODSIFT_ALLOW_PRIVATE_NETWORKS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "podsift", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def assert_each_episode_done_once(settings, server, count: int) -> None:
    for i in range(1, count):
        assert server.hits(f"/ep{i}.mp3") == 1, f"episode {i} downloaded {server.hits(f'/ep{i}.mp3')} times"
    assert server.hits("/ep0.mp3") == 0 and server.hits("/t.vtt") == 1
    with Store.open(settings.db_path) as store:
        episodes = store.episodes.matching()
        assert [e.state for e in episodes] == ["extracted"] * count
        for episode in episodes:
            sentences = len(store.transcripts.get(episode.id).segments)
            insights = len(store.insights.matching(episode_ids=[episode.id]))
            indexed = store.db.execute(
                "SELECT kind, COUNT(*) FROM search WHERE episode_id = %s GROUP BY kind", (episode.id,)
            )
            assert dict(indexed.fetchall()) == {"sentence": sentences, **({"insight": insights} if insights else {})}
        assert store.db.execute("SELECT COUNT(*) FROM episodes WHERE claimed_by IS NOT NULL").fetchone()[0] == 0
    assert not list(settings.audio_dir.iterdir()), "nothing left in the audio cache"


def test_two_scans_at_once_do_each_episode_once_and_both_end_well(settings, server, clips):
    count = 5
    with Store.open(settings.db_path) as store:
        store.shows.subscribe(store.people.local(), publish(server, clips, count))
    (settings.home / "podsift.toml").write_text("[scan]\nfirst_scan_max = 5\n")
    first, second = start(settings, "scan", "--quiet"), start(settings, "scan", "--quiet")
    done = {"transcribed": 0, "reused": 0, "with insights found": 0}
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert "Traceback" not in err and "UNIQUE constraint" not in err
        for what in done:
            done[what] += int(re.search(rf"{what}\W+(\d+)", out).group(1))
    assert done == {"transcribed": count - 1, "reused": 1, "with insights found": count}  # the work split, not doubled
    assert_each_episode_done_once(settings, server, count)


def test_a_scan_during_the_daily_job_of_serve_does_each_episode_once(settings, server, clips):
    """`podsift serve` runs its day's job (delivery time 00:00, so at once) while a user types `podsift scan`."""
    count = 3
    with Store.open(settings.db_path) as store:
        store.shows.subscribe(store.people.local(), publish(server, clips, count))
    (settings.home / "podsift.toml").write_text('delivery_time = "00:00"\n')
    serve = start(settings, "serve", "--port", "0")
    try:
        deadline = time.monotonic() + 120
        while server.hits("/feed.xml") == 0:  # the daily job has begun its scan
            assert time.monotonic() < deadline and serve.poll() is None, serve.communicate()
            time.sleep(0.05)
        scan = start(settings, "scan", "--quiet")
        _, err = scan.communicate(timeout=300)
        assert scan.returncode == 0, err
        with Store.open(settings.db_path) as store:
            while store.db.execute("SELECT COUNT(*) FROM recipient_days").fetchone()[0] == 0:
                assert time.monotonic() < deadline + 180 and serve.poll() is None, serve.communicate()
                time.sleep(0.2)
    finally:
        serve.terminate()
        _, log = serve.communicate(timeout=60)
    assert "Traceback" not in log, log
    assert_each_episode_done_once(settings, server, count)


def test_a_claim_is_exclusive_until_it_ends_or_its_holder_dies(settings):
    from podsift.models import FeedItem

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now names no process on this machine
    here = socket.gethostname()
    soon, later, now = "2026-12-01T10:05:00+00:00", "2026-12-01T10:10:00+00:00", "2026-12-01T10:00:00+00:00"
    with Store.open(settings.db_path) as store:
        show, _ = store.shows.subscribe(store.people.local(), "https://a.example/feed")
        episode = store.episodes.add(show.id, FeedItem(guid="g", title="t", audio_url="https://a.example/1.mp3"), "new")
        assert store.episodes.claim(episode, ("new",), "elsewhere:1", soon, now)
        assert not store.episodes.claim(episode, ("new",), "elsewhere:2", later, now)  # held by a live lease
        assert not store.episodes.claim(episode, ("new",), "elsewhere:1", later, now)  # not even by its holder twice
        assert store.episodes.claimable(("new",), now) == [] and store.episodes.others_at_work("me:1", now) == {
            "elsewhere:1": 1
        }
        store.episodes.renew_claims("elsewhere:1", later)
        assert not store.episodes.claim(episode, ("new",), "elsewhere:2", later, soon)  # renewed: still held at 10:05
        assert store.episodes.claim(episode, ("new",), "elsewhere:2", later, later)  # the lease ran out: taken over
        assert not store.episodes.claim(episode, ("downloaded",), f"{here}:{gone.pid}", later, now)  # wrong state
        store.episodes.release_claims("elsewhere:2")
        assert store.episodes.claim(episode, ("new",), f"{here}:{gone.pid}", later, now)
        assert store.episodes.claim(episode, ("new",), "elsewhere:3", later, now)  # its holder died on this machine
        store.episodes.fail(episode, "download failed")  # finishing a stage ends the claim
        assert store.episodes.others_at_work("me:1", now) == {}


def test_a_scan_going_round_again_adds_to_its_bars_instead_of_drawing_new_ones():
    """While a scan waits for another, it looks for freed work every two seconds: one bar per stage."""
    import io

    from rich.console import Console

    from podsift.progress import RichReporter

    reporter = RichReporter(Console(file=io.StringIO(), force_terminal=True))
    for total in (2, 0, 3):
        reporter.start("Downloads", total)
    reporter.close()
    assert [(t.description, t.total) for t in reporter.progress.tasks] == [("Downloads", 5)]
