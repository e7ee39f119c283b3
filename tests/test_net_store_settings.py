"""The fetcher's limits on a real loopback server, the store's schema, and settings loading."""

import dataclasses
import re

import pytest

from podsift import __version__
from podsift.errors import ConfigError, FetchError, HTTPStatusError
from podsift.net import Fetcher
from podsift.settings import load_settings
from podsift.store import Store, StoreError, migrations


def test_user_agent_names_podsift_and_version(settings, server):
    (server.root / "a.txt").write_bytes(b"hello")
    with Fetcher(settings) as fetcher:
        response = fetcher.get(f"{server.url}/a.txt", 100)
    assert response.content == b"hello" and response.status == 200
    assert response.etag  # validators come back for the next conditional GET
    assert server.agents == [f"podsift/{__version__} (self-hosted podcast digest; +https://pypi.org/project/podsift/)"]


def test_size_cap_stops_reading(settings, server):
    (server.root / "big.bin").write_bytes(b"x" * 5000)
    with Fetcher(settings) as fetcher:
        with pytest.raises(FetchError, match="over the 0 MB cap|larger than"):
            fetcher.get(f"{server.url}/big.bin", 1000)


def test_status_errors_say_what_to_do(settings, server):
    server.status["/gone.xml"] = 410
    with Fetcher(settings) as fetcher, pytest.raises(HTTPStatusError, match="moved or ended; unsubscribe"):
        fetcher.get(f"{server.url}/gone.xml", 1000)


def test_redirect_loop_ends(settings, server):
    server.status["/loop"] = 302
    server.headers["/loop"] = {"Location": "/loop"}
    with Fetcher(settings) as fetcher, pytest.raises(FetchError, match="redirects more than"):
        fetcher.get(f"{server.url}/loop", 1000)
    assert server.hits("/loop") == 6


def test_temporary_redirect_does_not_move(settings, server):
    (server.root / "b.xml").write_bytes(b"<rss/>")
    server.status["/a.xml"] = 302
    server.headers["/a.xml"] = {"Location": "/b.xml"}
    with Fetcher(settings) as fetcher:
        response = fetcher.get(f"{server.url}/a.xml", 1000)
    assert response.url.endswith("/b.xml") and response.moved_to is None


def test_web_page_enclosure_is_refused(settings, server, tmp_path):
    (server.root / "ep.mp3").write_bytes(b"<html>oops</html>")
    server.headers["/ep.mp3"] = {"Content-Type": "text/html"}
    with Fetcher(settings) as fetcher, pytest.raises(FetchError, match="web page"):
        fetcher.download(f"{server.url}/ep.mp3", tmp_path / "ep.mp3", 10_000)
    assert not list(tmp_path.glob("ep.mp3*")), "no partial file is left behind"


def test_only_http_urls(settings):
    with Fetcher(settings) as fetcher, pytest.raises(FetchError, match="not an http or https URL"):
        fetcher.get("file:///etc/passwd", 1000)


def test_private_address_refused_before_connecting(home):
    settings = load_settings(home)
    resolved = []

    def resolver(host):
        resolved.append(host)
        return ["169.254.169.254"]

    with Fetcher(settings, resolver=resolver) as fetcher, pytest.raises(FetchError, match="private or local"):
        fetcher.get("http://metadata.test/latest", 1000)
    assert resolved == ["metadata.test"]


def test_store_schema_is_migrated_and_in_wal_mode(settings):
    with Store.open(settings.db_path) as store:
        assert store.schema_version() == migrations()[-1][0]
        assert store.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in store.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "shows",
        "episodes",
        "transcripts",
        "insights",
        "digests",
        "deliveries",
        "recipients",
        "subscriptions",
    } <= tables
    with Store.open(settings.db_path) as store:  # opening again applies nothing twice
        assert store.db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(migrations())


def test_store_refuses_a_failed_transaction_half_done(settings):
    with Store.open(settings.db_path) as store:
        with pytest.raises(StoreError, match="UNIQUE constraint failed"):
            with store.transaction():
                store.db.execute("INSERT INTO shows (feed_url, created_at) VALUES ('https://x/f', 'now')")
                store.db.execute("INSERT INTO shows (feed_url, created_at) VALUES ('https://x/f', 'now')")
        assert store.shows.followed() == [] and store.db.execute("SELECT COUNT(*) FROM shows").fetchone()[0] == 0


def test_settings_from_file_and_environment(home):
    home.mkdir(parents=True)
    (home / "podsift.toml").write_text(
        'timezone = "Europe/Paris"\ninterests = ["space"]\n[transcribe]\nbeam_size = 1\n[audio]\nkeep = true\n'
    )
    settings = load_settings(
        home,
        environ={
            "PODSIFT_TRANSCRIBE_MODEL": "/models/small",
            "PODSIFT_AUDIO_KEEP": "no",
            "PODSIFT_ALLOW_PRIVATE_NETWORKS": "1",
        },
    )
    assert settings.timezone == "Europe/Paris" and settings.interests == ("space",)
    assert settings.transcribe == dataclasses.replace(settings.transcribe, beam_size=1, model="/models/small")
    assert settings.audio.keep is False and settings.allow_private_networks is True
    assert settings.db_path == home / "podsift.db"


@pytest.mark.parametrize(
    "text,message",
    [
        ("colour = 'blue'\n", "unknown setting 'colour'"),
        ("[scan]\nfirst_scan_max = 'many'\n", r"first_scan_max in \[scan\] in podsift.toml must be a whole number"),
        ("timezone = \n", "not valid TOML"),
        # Values of the right type that no part of podsift can use: refused when read, not when used.
        ('delivery_time = "25:99"\n', r"delivery_time in podsift.toml: '25:99' is not a time of day: use HH:MM"),
        ('delivery_time = "7am"\n', r"'7am' is not a time of day: use HH:MM, like \"07:00\""),
        ("timezone = 5\n", "timezone in podsift.toml must be text, not 5"),
        ('timezone = "Mars/Olympus"\n', "unknown time zone 'Mars/Olympus'.*'Europe/Paris'"),
        ('base_url = "javascript:alert(1)"\n', r"base_url in podsift.toml: 'javascript:alert\(1\)' is not an http"),
        ('base_url = "https://"\n', r"base_url .* not an http\(s\) address; give one like https://"),
        ('base_url = "https://x.org/?a=1"\n', r"base_url .* has a query"),
        ("[audio]\ncache_mb = -5\n", r"cache_mb in \[audio\] in podsift.toml must be at least 1, not -5"),
        ("[scan]\nfeed_workers = 0\n", r"feed_workers .* at least 1"),
        ("[fetch]\ntimeout = -1.0\n", r"timeout .* more than 0"),
        ("[transcribe]\nbeam_size = 1.5\n", r"beam_size in \[transcribe\] in podsift.toml must be a whole number"),
        ('[transcribe]\ndevice = "gpu"\n', r"device .* one of 'cpu', 'cuda', 'auto'"),
        ('interests = ["space", 3]\n', r"interests in podsift.toml must be a text list"),
    ],
)
def test_bad_settings_are_named(home, text, message):
    home.mkdir(parents=True)
    (home / "podsift.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(home, environ={})


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("PODSIFT_DELIVERY_TIME", "25:99", "PODSIFT_DELIVERY_TIME: '25:99' is not a time of day"),
        ("PODSIFT_TIMEZONE", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("PODSIFT_BASE_URL", "javascript:alert(1)", "PODSIFT_BASE_URL: 'javascript:alert(1)' is not an http(s)"),
        ("PODSIFT_TRANSCRIBE_BEAM_SIZE", "1.5", "PODSIFT_TRANSCRIBE_BEAM_SIZE must be a whole number"),
        ("PODSIFT_AUDIO_MIN_FREE_MB", "-1", "PODSIFT_AUDIO_MIN_FREE_MB must be at least 0"),
    ],
)
def test_bad_settings_from_the_environment_are_named(home, name, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(home, environ={name: value})


def test_good_settings_of_every_kind_are_taken(home):
    settings = load_settings(
        home,
        environ={
            "PODSIFT_DELIVERY_TIME": "23:59",
            "PODSIFT_TIMEZONE": "America/Argentina/Buenos_Aires",
            "PODSIFT_BASE_URL": "https://podsift.example.org/reader/",
            "PODSIFT_TRANSCRIBE_BEAM_SIZE": "2",
            "PODSIFT_FETCH_TIMEOUT": "2.5",
            "PODSIFT_AUDIO_MIN_FREE_MB": "0",
        },
    )
    assert (settings.delivery_time, settings.timezone) == ("23:59", "America/Argentina/Buenos_Aires")
    assert settings.base_url == "https://podsift.example.org/reader/" and settings.transcribe.beam_size == 2
    assert settings.fetch.timeout == 2.5 and settings.audio.min_free_mb == 0


def test_the_store_and_its_home_are_readable_by_their_owner_only(home):
    """podsift.db holds password hashes and session tokens' hashes: not for other users of the machine."""
    import os
    import stat

    with Store.open(home / "podsift.db") as store:
        store.people.add("ada@example.org", password_hash="scrypt$x$y")  # writes the WAL beside the file
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in home.iterdir() if p.name.startswith("podsift.db")}
    assert modes and set(modes.values()) == {0o600}, modes  # podsift.db, -wal and -shm
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    older = home.parent / "older"  # an install of an earlier version left them world-readable
    older.mkdir(mode=0o755)
    with Store.open(older / "podsift.db"):
        pass
    os.chmod(older / "podsift.db", 0o644)
    with Store.open(older / "podsift.db"):
        pass
    assert stat.S_IMODE((older / "podsift.db").stat().st_mode) == 0o600
