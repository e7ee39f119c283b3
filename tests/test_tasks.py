"""Work as tasks on Procrastinate, on a real Postgres (conftest's cluster): `podsift scan` queues,
`podsift worker` processes do the work, and the faults a team meets (a worker killed mid-episode,
an episode that always fails) cost neither work done twice nor work lost."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from conftest import EPISODE, rss, vtt

from podsift.cli import main
from podsift.store import Store
from podsift.store.postgres import PostgresDatabase

PUBLISHED = datetime.now(timezone.utc) - timedelta(hours=3)
MAINTENANCE_TASKS = ("podsift.recover", "podsift.prune")  # periodic: they run whenever the clock says


@pytest.fixture
def team(home, database_url, monkeypatch):
    """PODSIFT_* for a Postgres store, in this process and in the workers it starts."""
    env = {"PODSIFT_HOME": str(home), "PODSIFT_DATABASE_URL": database_url, "PODSIFT_ALLOW_PRIVATE_NETWORKS": "1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@contextmanager
def workers(env: dict, count: int, *options: str):
    """`count` worker processes, stopped with SIGTERM at the end (killed if they hang)."""
    command = [sys.executable, "-m", "podsift", "worker", "--heartbeat", "0.5", *options]
    started = [
        subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(count)
    ]
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def cli(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def yesterdays_episode_for_ada(server):
    """A show with one episode (and a publisher transcript) published yesterday, followed, and
    ada@example.org to email it to; returns yesterday's date."""
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    (server.root / "ep.vtt").write_text(vtt(EPISODE))
    published = datetime.combine(yesterday, datetime.min.time(), timezone.utc) + timedelta(hours=9)
    item = {"guid": "ep-1", "title": "Glaciers", "audio": f"{server.url}/ep.mp3", "transcript": f"{server.url}/ep.vtt"}
    (server.root / "feed.xml").write_text(rss("Cold Facts", [{**item, "published": published}]))
    cli("subscribe", f"{server.url}/feed.xml")
    CliRunner().invoke(main, ["user", "add", "ada@example.org", "--password-stdin"], input="s3cret\n")
    return yesterday


def store(database_url) -> Store:
    return Store(PostgresDatabase(database_url))


def feeds_with_transcripts(server, shows: int, episodes: int) -> list[str]:
    (server.root / "ep.vtt").write_text(vtt(EPISODE))
    urls = []
    for s in range(shows):
        items = [
            {
                "guid": f"s{s}-e{e}",
                "title": f"Glaciers {s}.{e}",
                "audio": f"{server.url}/s{s}e{e}.mp3",
                "transcript": f"{server.url}/s{s}e{e}.vtt",
                "published": PUBLISHED - timedelta(minutes=e),
            }
            for e in range(episodes)
        ]
        for e in range(episodes):
            shutil.copy(server.root / "ep.vtt", server.root / f"s{s}e{e}.vtt")
        (server.root / f"show{s}.xml").write_text(rss(f"Show {s}", items))
        urls.append(f"{server.url}/show{s}.xml")
    return urls


def test_two_workers_do_a_scan_once_each_episode_and_the_scan_waits_for_them(server, team, database_url):
    for url in feeds_with_transcripts(server, shows=3, episodes=2):
        cli("subscribe", url)
    with workers(team, 2):
        output = cli("scan", "--quiet")
        shown = cli("status")
    assert "episodes: 6 extracted" in output, output
    assert "queue transcribe" in shown and "6 succeeded" in shown and "workers" in shown and "doing 0" in shown
    assert all(server.hits(f"/s{s}e{e}.vtt") == 1 for s in range(3) for e in range(2))  # each fetched once
    with store(database_url) as s:
        assert s.db.value("SELECT COUNT(*) FROM transcripts") == 6
        assert s.db.value("SELECT COUNT(DISTINCT episode_id) FROM insights") == 6
        assert s.db.value("SELECT COUNT(*) FROM search WHERE kind = 'sentence'") == 6 * len(EPISODE)
        done = s.db.all("SELECT task_name, status, COUNT(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1")
    assert [tuple(r) for r in done if r[0] not in MAINTENANCE_TASKS] == [
        ("podsift.extract", "succeeded", 6),
        ("podsift.ingest", "succeeded", 6),
        ("podsift.poll", "succeeded", 3),
    ]
    assert "Glaciers flow because ice" in cli("digest", "--date", PUBLISHED.date().isoformat())


def test_a_scan_by_the_workers_ends_with_the_models_cards_as_the_threaded_one_does(server, team, home, models):
    from test_cards import FAITHFUL, card_for

    home.mkdir(parents=True, exist_ok=True)
    (home / "podsift.toml").write_text(f'[llm]\nbase_url = "{models.url}"\nmodel = "llama3.2"\n')
    models.reply = card_for
    for url in feeds_with_transcripts(server, shows=1, episodes=1):
        cli("subscribe", url)
    with workers(team, 1):
        output = cli("scan", "--quiet")
    assert "cards edited by the model: 1 shown, 0 refused, 0 failed" in output, output
    assert FAITHFUL in cli("digest", "--date", PUBLISHED.date().isoformat())


def test_a_worker_killed_mid_episode_leaves_it_to_another_which_finishes_it(server, clips, team, database_url):
    shutil.copy(clips[0], server.root / "ep.mp3")
    item = {"guid": "ep-1", "title": "Octopuses", "audio": f"{server.url}/ep.mp3", "published": PUBLISHED}
    (server.root / "feed.xml").write_text(rss("Sea Facts", [item]))
    cli("subscribe", f"{server.url}/feed.xml")
    server.delay["/ep.mp3"] = 120  # the first download hangs: its worker is at work on the episode
    with workers(team, 1) as (first,):
        scan = subprocess.Popen([sys.executable, "-m", "podsift", "scan", "--quiet"], env={**os.environ, **team})
        deadline = time.monotonic() + 60
        while server.hits("/ep.mp3") == 0:
            assert time.monotonic() < deadline, "the worker never started the download"
            time.sleep(0.1)
        first.kill()  # kill -9, mid-episode
        first.wait()
        del server.delay["/ep.mp3"]
        with workers(team, 1):
            assert scan.wait(timeout=120) == 0  # the second worker took the job over, and the scan saw it done
    with store(database_url) as s:
        assert s.db.value("SELECT state FROM episodes") == "extracted"
        assert s.db.value("SELECT COUNT(*) FROM transcripts") == 1
        assert "hearts and blue blood" in s.transcripts.get(1).segments[0].text.lower()  # spoken by espeak-ng
    assert server.hits("/ep.mp3") >= 2


def test_an_episode_that_always_fails_stops_after_max_attempts_with_its_reason(server, team, database_url, home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "podsift.toml").write_text("[scan]\nmax_attempts = 2\n")
    item = {"guid": "ep-1", "title": "Gone", "audio": f"{server.url}/gone.mp3", "published": PUBLISHED}
    (server.root / "feed.xml").write_text(rss("Gone Show", [item]))
    cli("subscribe", f"{server.url}/feed.xml")
    with workers(team, 1, "--retry-wait", "0"):
        cli("scan", "--quiet")
        deadline = time.monotonic() + 60
        while server.hits("/gone.mp3") < 2:
            assert time.monotonic() < deadline, "the failed episode was not tried again"
            time.sleep(0.2)
        time.sleep(2)  # a third attempt would come now
    assert server.hits("/gone.mp3") == 2
    with store(database_url) as s:
        episode = s.episodes.get(1)
    assert (episode.state, episode.attempts) == ("failed", 2)
    assert "ingest failed" in episode.error and "404" in episode.error


def test_a_worker_that_loses_the_database_connects_again_and_goes_on(server, team, postgres, database_url):
    for url in feeds_with_transcripts(server, shows=1, episodes=1):
        cli("subscribe", url)
    with workers(team, 1, "--heartbeat", "0.5") as (worker,):
        cli("scan", "--quiet")  # it works...
        postgres.pg_ctl("restart", "-m", "fast")  # ...the database goes away and comes back...
        time.sleep(3)
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
        (server.root / "show0.xml").write_text((server.root / "show0.xml").read_text().replace("Show 0", "Show Zero"))
        with store(database_url) as s:
            s.db.execute("UPDATE shows SET next_check_at = NULL")
        cli("scan", "--quiet")  # ...and it takes the next scan's work
    with store(database_url) as s:
        assert s.shows.followed()[0].title == "Show Zero"


def test_the_scheduler_on_postgres_queues_each_day_and_a_worker_emails_it_once(server, team, home, smtp, monkeypatch):
    from podsift.schedule import Scheduler
    from podsift.settings import load_settings

    for name, value in (("PODSIFT_SMTP_URL", smtp.url), ("PODSIFT_MAIL_FROM", "digest@example.org")):
        monkeypatch.setenv(name, value)
        team[name] = value
    home.mkdir(parents=True, exist_ok=True)
    (home / "podsift.toml").write_text('delivery_time = "00:00"\n')  # yesterday is due whenever the test runs
    yesterday = yesterdays_episode_for_ada(server)
    with workers(team, 1, "--retry-wait", "1"):
        Scheduler(load_settings()).tick()  # queues the polls and the day, and returns at once
        deadline = time.monotonic() + 90
        while not smtp.messages:
            assert time.monotonic() < deadline, "the day's email never came"
            time.sleep(0.2)
        Scheduler(load_settings()).tick()  # the day is done: nothing more is queued or sent
        time.sleep(3)
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "ada@example.org"
    assert "Glaciers flow because ice" in smtp.messages[0].get_body(("plain",)).get_content()
    with store(team["PODSIFT_DATABASE_URL"]) as s:
        (sent,) = s.outbox.all()
        assert (sent.day, sent.status, sent.attempts) == (yesterday.isoformat(), "sent", 1)
        assert s.digests.last_finished_day(sent.recipient_id) == yesterday.isoformat()


def test_scan_since_on_the_queue_takes_the_episodes_a_first_scan_left_out(server, team, database_url):
    (server.root / "ep.vtt").write_text(vtt(EPISODE))
    old = PUBLISHED - timedelta(days=30)  # older than [scan] first_scan_days: a new feed's scan records it only
    items = [
        {"guid": g, "title": g, "audio": f"{server.url}/{g}.mp3", "transcript": f"{server.url}/ep.vtt", "published": p}
        for g, p in (("recent", PUBLISHED), ("old", old))
    ]
    (server.root / "feed.xml").write_text(rss("Cold Facts", items))
    cli("subscribe", f"{server.url}/feed.xml")
    with workers(team, 1):
        cli("scan", "--quiet")
        with store(database_url) as s:
            assert {e.guid: e.state for e in s.episodes.matching()} == {"recent": "extracted", "old": "skipped"}
        output = cli("scan", "--quiet", "--since", (old - timedelta(days=1)).date().isoformat())
    assert "episodes: 2 extracted" in output, output
    with store(database_url) as s:
        ran = s.db.all("SELECT task_name, count(*) FROM procrastinate_jobs WHERE status = 'succeeded' GROUP BY 1")
    assert dict(ran)["podsift.ingest"] == 2


def test_run_on_postgres_has_the_workers_scan_then_emails_the_day_once(server, team, smtp, monkeypatch):
    for name, value in (("PODSIFT_SMTP_URL", smtp.url), ("PODSIFT_MAIL_FROM", "digest@example.org")):
        monkeypatch.setenv(name, value)
    yesterday = yesterdays_episode_for_ada(server)
    with workers(team, 1):
        first = cli("run", "--quiet", "--date", yesterday.isoformat())
        again = cli("run", "--quiet", "--date", yesterday.isoformat())
    assert f"{yesterday}: ada@example.org: sent" in first, first
    assert f"{yesterday}: ada@example.org: sent" in again and len(smtp.messages) == 1  # the same email, once
    assert "Glaciers flow because ice" in smtp.messages[0].get_body(("plain",)).get_content()
    with store(team["PODSIFT_DATABASE_URL"]) as s:
        assert s.db.value("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'podsift.ingest'") == 1
        assert s.db.value("SELECT count(*) FROM transcripts") == 1


def test_a_worker_without_a_postgres_store_says_how_to_set_one(home):
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 1 and "database_url" in result.output and "podsift scan" in result.output


def test_a_scan_with_no_worker_alive_says_so_instead_of_waiting_for_ever(server, team):
    for url in feeds_with_transcripts(server, shows=1, episodes=1):
        cli("subscribe", url)
    result = CliRunner().invoke(main, ["scan", "--quiet"])
    assert result.exit_code == 1 and "no podsift worker is running" in result.output
    assert "podsift worker" in result.output and "--here" in result.output


def test_prune_deletes_the_jobs_finished_over_a_day_ago_and_keeps_the_rest(server, team, database_url):
    from podsift.settings import load_settings
    from podsift.tasks import queue_app

    for url in feeds_with_transcripts(server, shows=1, episodes=2):
        cli("subscribe", url)
    with workers(team, 1):
        cli("scan", "--quiet")
        with store(database_url) as s:  # the ingests finished two days ago; the poll and extracts just now
            s.db.execute(
                "UPDATE procrastinate_events SET at = at - interval '2 days' WHERE job_id IN "
                "(SELECT id FROM procrastinate_jobs WHERE task_name = 'podsift.ingest')"
            )
        app = queue_app(load_settings())
        with app.open():
            app.configure_task("podsift.prune").defer(timestamp=0)
        deadline = time.monotonic() + 30
        while True:
            with store(database_url) as s:
                left = dict(s.db.all("SELECT task_name, count(*) FROM procrastinate_jobs GROUP BY 1"))
            if "podsift.ingest" not in left or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    assert "podsift.ingest" not in left and left["podsift.poll"] == 1 and left["podsift.extract"] == 2
    with store(database_url) as s:
        assert s.episodes.counts() == {"extracted": 2}  # the episodes' own record stays


def test_the_workers_together_keep_to_per_host_requests_at_once_to_a_feed_host(server, team):
    """Two workers taking four jobs at once each would poll six feeds of one host at once; the
    polls of a host share [scan] per_host lanes (2), so the fleet asks as politely as one process."""
    for url in feeds_with_transcripts(server, shows=6, episodes=0):
        cli("subscribe", url)
    for s in range(6):
        server.delay[f"/show{s}.xml"] = 0.5
    server.most_active = 0
    with workers(team, 2, "--concurrency", "4"):
        cli("scan", "--quiet")
    assert server.most_active == 2
    assert all(server.hits(f"/show{s}.xml") == 1 for s in range(6))  # each polled once
