"""Hostile servers and documents: bombs, trickles and entities, each stopped without harm."""

from __future__ import annotations

import dataclasses
import gzip
import resource
import time

import pytest

from podsift.errors import FetchError, ParseError
from podsift.net import Fetcher
from podsift.parsers.feed import parse_feed


def test_gzip_bomb_stops_at_the_cap_on_decompressed_bytes(settings, server):
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # about 200 KB on the wire
    assert len(bomb) < 300_000
    server.raw["/feed.xml"] = (bomb, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})
    started = time.monotonic()
    with Fetcher(settings) as fetcher, pytest.raises(FetchError, match="larger than the 1 MB cap"):
        fetcher.get(f"{server.url}/feed.xml", 1_000_000)
    assert time.monotonic() - started < 5


def test_declared_size_over_the_cap_is_refused_before_reading(settings, server, tmp_path):
    server.raw["/big.mp3"] = (b"x" * 3_000_000, {"Content-Type": "audio/mpeg"})
    folder = tmp_path / "audio"
    with Fetcher(settings) as fetcher, pytest.raises(FetchError, match="is 3 MB, over the 1 MB cap"):
        fetcher.download(f"{server.url}/big.mp3", folder / "big.mp3", 1_000_000)
    assert not list(folder.iterdir())


def test_a_trickling_server_ends_at_the_deadline(settings, server):
    quick = dataclasses.replace(settings, fetch=dataclasses.replace(settings.fetch, deadline=1.5))
    server.drip["/slow.xml"] = 0.2  # a byte every 0.2 s: never idle long enough for the read timeout
    started = time.monotonic()
    with Fetcher(quick) as fetcher, pytest.raises(FetchError, match="taking too long"):
        fetcher.get(f"{server.url}/slow.xml", 1_000_000)
    assert 1.5 <= time.monotonic() - started < 5


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "lollollollollollollollollollol">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
 <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<rss><channel><title>&i;</title><item><title>x</title><enclosure url="https://e.example/a.mp3"/></item></channel></rss>
"""

QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + b"x" * 100_000
    + b'">]><rss><channel><title>'
    + b"&a;" * 20_000
    + b"</title></channel></rss>"
)


@pytest.mark.parametrize("bomb", [BILLION_LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic-blowup"])
def test_entity_bombs_fail_fast_and_small(bomb):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    try:
        feed = parse_feed(bomb, "https://e.example/feed").feed
        assert len(feed.title) < 10_000_000  # if anything is read, the expansion was stopped
    except ParseError:
        pass
    assert time.monotonic() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KB: under 50 MB more


def test_external_entities_are_never_loaded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">'
        '<!ENTITY y SYSTEM "http://127.0.0.1:9/evil">]>'
        "<rss><channel><title>t &x; &y;</title><item><title>i</title>"
        '<enclosure url="https://e.example/a.mp3"/></item></channel></rss>'
    ).encode()
    feed = parse_feed(doc, "https://e.example/feed").feed
    assert "TOP-SECRET" not in feed.title and len(feed.items) == 1


def test_a_harmless_internal_entity_still_parses():
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY show "Cold Facts">]>'
        b"<rss><channel><title>&show; weekly</title><item><title>i</title>"
        b'<enclosure url="https://e.example/a.mp3"/></item></channel></rss>'
    )
    assert parse_feed(doc, "https://e.example/feed").feed.title == "Cold Facts weekly"


def test_a_redirect_to_something_that_is_not_a_url_fails_cleanly(settings, server):
    server.status["/feed.xml"] = 301
    server.headers["/feed.xml"] = {"Location": "http://a]b/feed.xml"}  # httpx takes it, urljoin does not
    with Fetcher(settings) as fetcher, pytest.raises(FetchError, match="which is not a URL"):
        fetcher.get(f"{server.url}/feed.xml", 1000)
