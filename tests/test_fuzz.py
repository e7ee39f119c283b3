"""Property-based tests of every parser that reads strangers' bytes (feeds, OPML, transcripts):
for any input, a result that keeps podsift's invariants or a ParseError, within a time bound.

Inputs are both raw bytes and near-valid documents built from the formats' own pieces, since
random bytes rarely get past a parser's first check. The invariants live in fuzz_targets.py,
which the coverage-guided fuzzer (scripts/fuzz.py, atheris) drives too."""

from __future__ import annotations

import json
import os

import pytest
from fuzz_targets import TARGETS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Each example must finish within a second, however hostile: that is the time bound.
bounded = settings(
    max_examples=int(os.environ.get("PODSIFT_FUZZ_EXAMPLES", 300)),
    deadline=1000,
    suppress_health_check=[HealthCheck.too_slow],
)

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
url = st.one_of(
    st.sampled_from(["https://a.example/1.mp3", "http://a.example/x", "javascript:alert(1)", "data:,x", "/rel.mp3"]),
    text,
)
number = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["NaN", "Infinity", "-1", "1e400", "", "00:00:01", "99:99:99"]),
)
timestamp = st.one_of(
    st.builds(
        "{:02d}:{:02d}:{:02d}.{:03d}".format,
        st.integers(0, 999),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 999),
    ),
    text,
)


def _xml_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@st.composite
def feeds(draw) -> bytes:
    items = []
    for _ in range(draw(st.integers(0, 4))):
        fields = draw(
            st.lists(
                st.sampled_from(
                    [
                        f"<title>{_xml_escape(draw(text))}</title>",
                        f"<guid>{_xml_escape(draw(text))}</guid>",
                        f'<enclosure url="{_xml_escape(draw(url))}" type="audio/mpeg" length="{draw(number)}"/>',
                        f"<itunes:duration>{_xml_escape(draw(number))}</itunes:duration>",
                        f"<pubDate>{_xml_escape(draw(text))}</pubDate>",
                        f"<description>{_xml_escape(draw(text))}</description>",
                        f'<podcast:transcript url="{_xml_escape(draw(url))}" type="text/vtt"/>',
                        f'<podcast:soundbite startTime="{draw(number)}" duration="{draw(number)}">x'
                        "</podcast:soundbite>",
                        draw(st.sampled_from(["<item>", "</channel>", "<![CDATA[", "&undefined;", "<!DOCTYPE x>"])),
                    ]
                ),
                max_size=8,
            )
        )
        items.append("<item>" + "".join(fields) + "</item>")
    root = draw(st.sampled_from(["rss", "feed", "rdf:RDF", "html", "opml"]))
    body = (
        f'<?xml version="1.0" encoding="{draw(st.sampled_from(["utf-8", "iso-8859-1", "bogus", "utf-16"]))}"?>'
        f'<{root} xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        f'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>{_xml_escape(draw(text))}</title>'
        + "".join(items)
        + f"</channel></{root}>"
    )
    cut = draw(st.integers(0, len(body)))
    return (body if draw(st.booleans()) else body[:cut]).encode("utf-8", errors="replace")


@st.composite
def opml_documents(draw) -> bytes:
    outlines = "".join(
        f'<outline text="{_xml_escape(draw(text))}" xmlUrl="{_xml_escape(draw(url))}"'
        + draw(st.sampled_from([" />", ">", "></outline>"]))
        for _ in range(draw(st.integers(0, 5)))
    )
    return f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'.encode()


@st.composite
def cues(draw, header: str) -> bytes:
    blocks = [header] if header else []
    for n in range(draw(st.integers(0, 6))):
        speaker = draw(st.sampled_from(["", "<v Ada>", "Ada: ", "<b>", "&amp;"]))
        blocks.append(f"{n + 1}\n{draw(timestamp)} --> {draw(timestamp)}\n{speaker}{draw(text)}")
    separator = draw(st.sampled_from(["\n\n", "\r\n\r\n", "\n"]))
    return separator.join(blocks).encode()


@st.composite
def json_transcripts(draw) -> bytes:
    value = st.one_of(st.none(), st.booleans(), number, text, st.floats(), st.integers())
    segments = draw(
        st.lists(
            st.dictionaries(st.sampled_from(["startTime", "endTime", "body", "speaker"]), value, max_size=4),
            max_size=6,
        )
    )
    doc = draw(st.sampled_from([{"version": "1.0.0", "segments": segments}, {"segments": "x"}, segments, None]))
    return json.dumps(doc).encode()


@st.composite
def html_transcripts(draw) -> bytes:
    parts = [
        draw(st.sampled_from(["<cite>{}:</cite>", "<time>{}</time>", "<p>{}</p>", "<script>{}</script>"])).format(
            _xml_escape(draw(st.one_of(timestamp, text)))
        )
        for _ in range(draw(st.integers(0, 8)))
    ]
    return ("<html><body>" + "".join(parts) + "</body></html>").encode()


@bounded
@given(st.one_of(st.binary(max_size=2000), feeds()))
def test_feed_parser_never_fails_uncleanly(data):
    TARGETS["feed"](data)


@bounded
@given(st.one_of(st.binary(max_size=2000), opml_documents()))
def test_opml_parser_never_fails_uncleanly(data):
    TARGETS["opml"](data)


@bounded
@given(st.one_of(st.binary(max_size=2000), cues("WEBVTT")))
def test_vtt_parser_never_fails_uncleanly(data):
    TARGETS["vtt"](data)


@bounded
@given(st.one_of(st.binary(max_size=2000), cues("")))
def test_srt_parser_never_fails_uncleanly(data):
    TARGETS["srt"](data)


@bounded
@given(st.one_of(st.binary(max_size=2000), json_transcripts()))
def test_json_transcript_parser_never_fails_uncleanly(data):
    TARGETS["json"](data)


@bounded
@given(st.one_of(st.binary(max_size=2000), html_transcripts()))
def test_html_transcript_parser_never_fails_uncleanly(data):
    TARGETS["html"](data)


# Inputs the fuzzers found that once broke a parser, kept so that they never do again.
FOUND = [
    ("feed", b'<rss><channel><item><enclosure url="http://[::1/a.mp3"/></item></channel></rss>'),  # atheris
    ("feed", b'<rss><channel><item><enclosure url="http:/no-host/a.mp3"/></item></channel></rss>'),  # atheris
    ("feed", b'<rss xml:base="http://[term]/"><channel><item><enclosure url="a.mp3"/></item></channel></rss>'),
    ("feed", b"<rss><channel><item><enclosure url='https://a/1.mp3'/><itunes:duration>NaN</itunes:duration>"),
    ("json", b'{"segments":[{"startTime":"-1","body":null}]}'),  # Hypothesis: negative times, "None" as words
]


@pytest.mark.parametrize("target, data", FOUND)
def test_inputs_the_fuzzers_found_stay_fixed(target, data):
    TARGETS[target](data)
