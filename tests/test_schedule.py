"""The daily job's lock and the scheduler's choice of days."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from podsift.errors import ConfigError, PodsiftError
from podsift.net import Fetcher
from podsift.pipeline import Context
from podsift.schedule import LOCK, Scheduler, daily_job, days_due, due_days
from podsift.store import Store, dead_holder


def test_days_due_waits_for_the_delivery_time_and_catches_up_once():
    morning, noon = datetime(2026, 11, 10, 6, 59), datetime(2026, 11, 10, 7, 0)
    assert days_due(morning, "07:00", "2026-11-08") == []  # the 9th is delivered from 07:00 on the 10th
    assert days_due(noon, "07:00", "2026-11-08") == [date(2026, 11, 9)]
    assert days_due(noon, "07:00", "2026-11-09") == []
    assert days_due(noon, "07:00", "2026-11-05") == [date(2026, 11, d) for d in (6, 7, 8, 9)]  # off for 4 days
    assert len(days_due(noon, "07:00", "2026-01-01")) == 7  # a long absence catches up a week, not a year
    assert days_due(noon, "07:00", None) == [date(2026, 11, 9)]  # a new install starts with the day just ended
    with pytest.raises(ConfigError, match="HH:MM"):
        days_due(noon, "seven", None)


def test_a_second_process_cannot_run_the_daily_job_at_the_same_time(settings, whisper, embedder):
    with Store.open(settings.db_path) as other, Store.open(settings.db_path) as store, Fetcher(settings) as fetcher:
        me = store.people.local()
        assert other.runs.acquire(LOCK, "other-host:1", "2999-01-01T00:00:00+00:00", "2026-11-26T00:00:00+00:00")
        ctx = Context(settings, store, fetcher, whisper)
        with pytest.raises(PodsiftError, match="another podsift process"):
            daily_job(ctx, {me: [date(2026, 11, 2)]}, embedder, None)
        assert store.digests.last_finished_day(me) is None
        other.runs.release(LOCK, "other-host:1")
        daily_job(ctx, {me: [date(2026, 11, 2)]}, embedder, None)
        assert store.digests.last_finished_day(me) == "2026-11-02"
        # A lease that ran out (its holder died) is taken over.
        assert other.runs.acquire(LOCK, "dead:1", "2000-01-01T00:00:00+00:00", "2000-01-01T00:00:00+00:00")
        assert store.runs.acquire(LOCK, "alive:2", "2999-01-01T00:00:00+00:00", "2026-11-26T00:00:00+00:00")


def test_a_lock_left_by_a_killed_process_on_this_machine_is_taken_at_once(settings, whisper, embedder):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now names no process
    alive = f"{socket.gethostname()}:{os.getpid()}"
    assert dead_holder(f"{socket.gethostname()}:{gone.pid}") == f"{socket.gethostname()}:{gone.pid}"
    assert dead_holder(alive) == "" and dead_holder(f"elsewhere:{gone.pid}") == ""  # another host: wait
    with Store.open(settings.db_path) as other, Store.open(settings.db_path) as store, Fetcher(settings) as fetcher:
        me = store.people.local()
        assert other.runs.acquire(LOCK, f"{socket.gethostname()}:{gone.pid}", "2999-01-01T00:00:00+00:00", "2026-11-26")
        daily_job(Context(settings, store, fetcher, whisper), {me: [date(2026, 11, 2)]}, embedder, None)
        assert store.digests.last_finished_day(me) == "2026-11-02" and store.runs.lock_holder(LOCK) is None


def test_each_recipient_is_due_in_their_own_zone_and_time(settings):
    with Store.open(settings.db_path) as store:
        paris, _ = store.people.add("paris@example.org")
        tokyo, _ = store.people.add("tokyo@example.org")
        store.people.set_schedule(paris.id, "Europe/Paris", "07:00")
        store.people.set_schedule(tokyo.id, "Asia/Tokyo", "07:00")
        store.digests.finish_day(paris.id, "2026-11-08")
        store.digests.finish_day(tokyo.id, "2026-11-08")
        # 22:30 UTC on the 9th: 23:30 in Paris (the 9th is not over), 07:30 on the 10th in Tokyo.
        due = due_days(store, settings, datetime(2026, 11, 9, 22, 30, tzinfo=timezone.utc))
    assert due == {tokyo.id: [date(2026, 11, 9)]}


def test_scheduler_runs_each_due_day_once(settings):
    import dataclasses

    with Store.open(settings.db_path) as store:
        me = store.people.local()
    scheduler = Scheduler(dataclasses.replace(settings, delivery_time="00:00"))
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    scheduler.tick()
    with Store.open(settings.db_path) as store:
        assert store.digests.last_finished_day(me) == yesterday  # 00:00 has passed: the day just ended is due
        assert [tuple(r) for r in store.db.execute("SELECT recipient_id, day FROM recipient_days")] == [(me, yesterday)]
    scheduler.tick()
    with Store.open(settings.db_path) as store:
        assert [tuple(r) for r in store.db.execute("SELECT recipient_id, day FROM recipient_days")] == [(me, yesterday)]


def wait_until(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_scheduler_outlives_an_error_that_is_not_a_podsift_error_and_says_so(settings, caplog):
    """A row the code cannot read (here: interests that are not JSON, as a hand edit or an old bug
    leaves them) raises JSONDecodeError in every tick. The thread logs it with its traceback,
    records it for `podsift status`, backs off, keeps going, and delivers once the row is mended."""
    import dataclasses
    import logging

    from click.testing import CliRunner

    from podsift.cli import main

    with Store.open(settings.db_path) as store:
        me, _ = store.people.add("ada@example.org")
        store.db.execute("UPDATE recipients SET interests = 'not json'")
    scheduler = Scheduler(dataclasses.replace(settings, delivery_time="00:00"), interval=0.05)
    with caplog.at_level(logging.INFO, logger="podsift.schedule"):
        scheduler.start()
        try:
            wait_until(lambda: scheduler.failures >= 3)  # it failed, and failed again: it is still alive
            assert scheduler.is_alive()
            logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
            assert "daily job failed" in logged and "JSONDecodeError" in logged and "Traceback" in logged
            shown = CliRunner().invoke(main, ["status"]).stdout
            assert "JSONDecodeError" in shown and "retrying after" in shown and "scheduler" in shown

            with Store.open(settings.db_path) as store:  # mended: the next try delivers the day
                store.db.execute("UPDATE recipients SET interests = '[]'")
            wait_until(lambda: Store.open(settings.db_path).digests.last_finished_day(me.id) is not None)
            wait_until(lambda: scheduler.failures == 0)
        finally:
            scheduler.stopping.set()
            scheduler.join(timeout=30)
    shown = CliRunner().invoke(main, ["status"])
    assert shown.exit_code == 0, shown.output
    assert re.search(r"scheduler\W+stopped at", shown.stdout) and re.search(
        r"last daily job\W+\d{4}-.*, ok", shown.stdout
    )


def test_status_says_when_a_scheduler_died_and_exits_3(settings):
    from click.testing import CliRunner

    from podsift.cli import main

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with Store.open(settings.db_path) as store:  # what `podsift serve` killed with -9 leaves behind
        store.people.add("ada@example.org")
        store.runs.start("scheduler", f"{socket.gethostname()}:{gone.pid}")
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 3
    assert "not running: last seen" in result.stdout and "ended without stopping it" in result.stdout
    for line in (
        "last daily job",
        "last scan",
        "last error",
        "next digest, ada@example.org",
        "episodes",
        "emails owed",
    ):
        assert line in result.stdout, line


def test_only_the_latest_runs_of_each_kind_are_kept(settings):
    from podsift.store import KEEP_RUNS

    with Store.open(settings.db_path) as store:
        first_scheduler = store.runs.start("scheduler", "me:1")
        for _ in range(KEEP_RUNS + 3):
            store.runs.start("scan", "me:1")
        kinds = dict(store.db.execute("SELECT kind, COUNT(*) FROM runs GROUP BY kind").fetchall())
        assert kinds == {"scan": KEEP_RUNS, "scheduler": 1} and store.runs.latest("scheduler").id == first_scheduler
