"""Every earlier schema, with data in it, migrates to the current one and keeps its data."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from podsift.store import Store, migrations
from podsift.store.schema import statements

VERSIONS = [version for version, _ in migrations()]


def at_version(path, version: int) -> sqlite3.Connection:
    """A database built by the migrations up to `version`, as an install of that time left it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, sql in migrations():
        if number > version:
            break
        for statement in statements(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
    return conn


def fill(conn: sqlite3.Connection, version: int) -> None:
    """Data of every kind the schema of `version` can hold."""
    t = "2026-11-02T09:00:00+00:00"
    conn.execute("INSERT INTO recipients (id, email, name, created_at) VALUES (1, 'ada@example.org', 'Ada', ?)", (t,))
    conn.execute(
        "INSERT INTO shows (id, feed_url, title, etag, created_at) VALUES (1, 'https://a/feed', 'A', 'e1', ?)", (t,)
    )
    conn.execute("INSERT INTO subscriptions VALUES (1, 1, ?)", (t,))
    conn.execute(
        "INSERT INTO episodes (id, show_id, guid, title, audio_url, published_at, state, created_at, updated_at)"
        " VALUES (1, 1, 'g1', 'Glaciers', 'https://a/1.mp3', ?, 'extracted', ?, ?)",
        (t, t, t),
    )
    seen = "2026-11-05T10:00:00+00:00"
    conn.execute(  # a feed item without a date: from version 12 on, dated when first seen
        "INSERT INTO episodes (id, show_id, guid, title, audio_url, published_at, state, created_at, updated_at)"
        " VALUES (2, 1, 'g2', 'Undated', 'https://a/2.mp3', ?, 'new', ?, ?)",
        (seen if version >= 12 else None, seen, t),
    )
    segments = [[0.0, 4.0, "", "Glaciers flow downhill."], [4.0, 8.0, "", "Ice deforms under its weight."]]
    conn.execute(
        "INSERT INTO transcripts (episode_id, source, segments, created_at) VALUES (1, 'whisper', ?, ?)",
        (json.dumps(segments), t),
    )
    conn.execute(
        "INSERT INTO insights (id, episode_id, rank, text, quote, start_s, end_s, score, created_at) "
        "VALUES (1, 1, 1, 'Glaciers flow downhill.', 'Glaciers flow downhill.', 0, 4, 0.9, ?)",
        (t,),
    )
    conn.execute("INSERT INTO digests (id, recipient_id, day, created_at) VALUES (1, 1, '2026-11-02', ?)", (t,))
    conn.execute("INSERT INTO digest_items (digest_id, rank, insight_id) VALUES (1, 1, 1)")
    # An empty digest stored by looking at a day before it was scanned (a placeholder, never sent).
    conn.execute("INSERT INTO digests (id, recipient_id, day, created_at) VALUES (2, 1, '2026-11-03', ?)", (t,))
    if version == 1:  # the first outbox was keyed by digest
        conn.execute(
            "INSERT INTO deliveries (digest_id, channel, message_id, status, sent_at, created_at) "
            "VALUES (1, 'email', '<m1@example.org>', 'sent', ?, ?)",
            (t, t),
        )
    else:
        conn.execute(
            "INSERT INTO deliveries (recipient_id, day, channel, message_id, status, sent_at, created_at) "
            "VALUES (1, '2026-11-02', 'email', '<m1@example.org>', 'sent', ?, ?)",
            (t, t),
        )
    if version >= 3:
        conn.execute("INSERT INTO feedback VALUES (1, 1, 1, ?)", (t,))
    if version >= 5:  # the store of that time indexed what it saved (from 14 on, naming the show)
        show = ", 1" if version >= 14 else ""
        conn.execute(f"INSERT INTO search VALUES ('sentence', 4.0, 1, 'Ice deforms under its weight.'{show})")
        conn.execute(f"INSERT INTO search VALUES ('insight', '1', 1, 'Glaciers flow downhill.'{show})")


@pytest.mark.parametrize("version", VERSIONS[:-1])
def test_every_earlier_schema_with_data_migrates(tmp_path, version):
    t = "2026-11-02T09:00:00+00:00"
    path = tmp_path / "podsift.db"
    conn = at_version(path, version)
    fill(conn, version)
    conn.close()

    with Store.open(path) as store:
        assert store.schema_version() == VERSIONS[-1]
        assert [s.feed_url for s in store.shows.followed(1)] == ["https://a/feed"] and store.shows.followed(1)[
            0
        ].etag == "e1"
        assert store.transcripts.get(1).text == "Glaciers flow downhill. Ice deforms under its weight."
        assert [i.text for i in store.insights.matching(episode_ids=[1])] == ["Glaciers flow downhill."]
        assert [i.id for i, _ in store.digests.get(1, "2026-11-02")[1]] == [1]
        assert store.episodes.lookup("g2").published_at.isoformat() == "2026-11-05T10:00:00+00:00"  # dated when stored
        if version < 9:  # placeholders are dropped, to be built again when asked for
            assert store.digests.get(1, "2026-11-03") is None and store.digests.days(1) == [("2026-11-02", t)]
        (delivery,) = store.outbox.all()
        assert (delivery.recipient_id, delivery.day, delivery.status, delivery.message_id) == (
            1,
            "2026-11-02",
            "sent",
            "<m1@example.org>",
        )
        assert store.people.get(1).unsubscribed_at is None
        assert [hit["kind"] for hit in store.insights.search("weight", 1)] == [
            "passage"
        ]  # older transcripts are indexed
        assert store.insights.votes(1) == ({1: 1} if version >= 3 else {})
        # ...and the migrated store takes new work.
        assert store.runs.acquire("daily", "me", "2999-01-01T00:00:00+00:00", "2026-11-26T00:00:00+00:00")


def test_a_full_disk_rolls_the_change_back_and_says_what_to_do(settings):
    from podsift.models import Segment, Transcript
    from podsift.store import StoreError

    with Store.open(settings.db_path) as store:
        store.shows.subscribe(store.people.local(), "https://a/feed")
        store.db.execute(
            "INSERT INTO episodes (show_id, guid, title, audio_url, state, created_at, updated_at) "
            "VALUES (1, 'g', 't', 'https://a/1.mp3', 'downloaded', 'x', 'x')"
        )
        pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
        store.db.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full for this store
        huge = Transcript([Segment(i, i + 1, "word " * 200) for i in range(500)])
        with pytest.raises(StoreError) as failure:
            store.transcripts.save(1, huge)
        message = str(failure.value)
        assert "is full; free some space" in message and "rolled back" in message
        assert store.db.execute("SELECT state FROM episodes").fetchone()[0] == "downloaded"
        assert store.db.execute("SELECT COUNT(*) FROM transcripts").fetchone()[0] == 0
        assert store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _as_a_user_bound_by_file_modes(command: list[str]) -> list[str]:
    """`command` run so that file modes bind it: as it is for a normal user; for root (these tests
    run as root in CI), with the capabilities that let root ignore modes dropped by setpriv."""
    if os.geteuid() != 0:
        return command
    if not shutil.which("setpriv"):
        pytest.fail("setpriv (util-linux) is needed to test a read-only home as root: apt-get install util-linux")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", *command]


def test_a_read_only_home_gives_a_clear_error_and_is_left_as_it_was(settings, tmp_path):
    with Store.open(settings.db_path) as store:
        store.shows.subscribe(store.people.local(), "https://a/feed", "A show")
    before = settings.db_path.read_bytes()
    for path in [settings.home, *settings.home.rglob("*")]:
        os.chown(path, 65534, 65534)  # not ours, and not writable: as a home mounted read-only looks
        path.chmod(0o555 if path.is_dir() else 0o444)
    env = {**os.environ, "PODSIFT_HOME": str(settings.home)}
    try:
        for command in (["feeds"], ["subscribe", "https://b.example/feed"], ["scan"], ["digest"]):
            done = subprocess.run(
                _as_a_user_bound_by_file_modes([sys.executable, "-m", "podsift", *command]),
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 1, (command, done.stdout, done.stderr)
            assert "cannot open the store" in done.stderr and "writable" in done.stderr, done.stderr
            assert "Traceback" not in done.stderr
    finally:
        for path in [settings.home, *settings.home.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert settings.db_path.read_bytes() == before
    with Store.open(settings.db_path) as store:
        assert store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert [s.title for s in store.shows.followed()] == ["A show"]
