"""The daily job's lock and the scheduler's choice of days."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from podsift.errors import ConfigError, PodsiftError
from podsift.net import Fetcher
from podsift.pipeline import Context
from podsift.schedule import LOCK, Scheduler, daily_job, days_due
from podsift.store import Store


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
        assert other.acquire(LOCK, "other-host:1", "2999-01-01T00:00:00+00:00", "2026-11-26T00:00:00+00:00")
        ctx = Context(settings, store, fetcher, whisper)
        with pytest.raises(PodsiftError, match="another podsift process"):
            daily_job(ctx, date(2026, 11, 2), embedder, None)
        assert store.last_finished_day() is None
        other.release(LOCK, "other-host:1")
        daily_job(ctx, date(2026, 11, 2), embedder, None)
        assert store.last_finished_day() == "2026-11-02"
        # A lease that ran out (its holder died) is taken over.
        assert other.acquire(LOCK, "dead:1", "2000-01-01T00:00:00+00:00", "2000-01-01T00:00:00+00:00")
        assert store.acquire(LOCK, "alive:2", "2999-01-01T00:00:00+00:00", "2026-11-26T00:00:00+00:00")


def test_scheduler_runs_a_due_day_once(settings, embedder):
    import dataclasses

    scheduler = Scheduler(dataclasses.replace(settings, delivery_time="00:00"))
    scheduler.tick(None, embedder)
    with Store.open(settings.db_path) as store:
        first = store.last_finished_day()
        rows = store.conn.execute("SELECT COUNT(*) FROM daily_runs").fetchone()[0]
    assert first is not None and rows == 1
    scheduler.tick(None, embedder)
    with Store.open(settings.db_path) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM daily_runs").fetchone()[0] == 1
