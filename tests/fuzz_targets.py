"""What each parser promises for any bytes at all: a result that keeps podsift's invariants, or a
ParseError that says what is wrong. Nothing else may escape. Shared by the Hypothesis tests
(tests/test_fuzz.py) and the coverage-guided fuzzer (scripts/fuzz.py)."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from podsift.errors import ParseError
from podsift.parsers.feed import parse_feed
from podsift.parsers.opml import parse_opml
from podsift.parsers.transcript import parse_transcript


def feed(data: bytes) -> None:
    try:
        result = parse_feed(data, "https://example.org/feed.xml")
    except ParseError as exc:
        assert str(exc)
        return
    for item in result.feed.items:
        audio = urlsplit(item.audio_url)
        assert audio.scheme in ("http", "https") and audio.hostname, item.audio_url  # never javascript: or data:
        assert item.guid and isinstance(item.title, str)
        assert math.isfinite(item.duration) and item.duration >= 0
        assert all(link.url for link in item.transcripts)


def opml(data: bytes) -> None:
    try:
        feeds = parse_opml(data)
    except ParseError as exc:
        assert str(exc)
        return
    urls = [url for _, url in feeds]
    assert len(urls) == len(set(urls)) and all(u.startswith(("http://", "https://")) for u in urls)


def transcript(kind: str):
    def target(data: bytes) -> None:
        try:
            parsed = parse_transcript(data, kind)
        except ParseError as exc:
            assert str(exc)
            return
        assert parsed.segments
        for segment in parsed.segments:
            assert math.isfinite(segment.start) and math.isfinite(segment.end), segment
            assert 0 <= segment.start <= segment.end, segment
            assert segment.text.strip()

    return target


TARGETS = {
    "feed": feed,
    "opml": opml,
    "vtt": transcript("text/vtt"),
    "srt": transcript("application/x-subrip"),
    "json": transcript("application/json"),
    "html": transcript("text/html"),
}
