"""Publisher transcripts (`<podcast:transcript>`) from bytes to cue-level `Segment`s.

Formats: WebVTT, SRT, Podcasting 2.0 JSON and the spec's HTML (`<cite>`, `<time>`, `<p>`).
Speaker names are kept where the format has them (`<v Name>`, "speaker", `<cite>`, or a
"Name:" label opening an SRT cue). Segments come out as published; `podsift.transcribe.sentences` turns
them into the sentence-level spans the rest of podsift works on.
"""

from __future__ import annotations

import html as htmllib
import json
import math
import re

from lxml import etree
from lxml import html as lxml_html

from ..errors import ParseError
from ..models import Segment, Transcript

# Formats by preference: timed ones first, word-level JSON before cue-level VTT/SRT, then HTML,
# whose times mark only paragraphs.
FORMATS = ("json", "vtt", "srt", "html")
MIME_FORMATS = {
    "application/json": "json",
    "application/vnd.podcastindex.transcript+json": "json",
    "text/vtt": "vtt",
    "text/webvtt": "vtt",
    "application/x-subrip": "srt",
    "application/srt": "srt",
    "text/srt": "srt",
    "text/x-srt": "srt",
    "text/html": "html",
}
TIMESTAMP = r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?"
CUE_TIMES = re.compile(rf"^\s*{TIMESTAMP}\s*-->\s*{TIMESTAMP}")
VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
TAG = re.compile(r"<[^>]*>")
LABEL = re.compile(r"^((?:[A-Z][\w'.-]*)(?: [A-Z][\w'.-]*){0,2}):\s+(?=\S)")


def format_of(mime: str, data: bytes = b"") -> str:
    """The format of a transcript from its declared MIME type, else from its first bytes; "" if unknown."""
    kind = MIME_FORMATS.get(mime.split(";")[0].strip().lower(), "")
    if kind or not data:
        return kind
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"WEBVTT"):
        return "vtt"
    if head.startswith(b"{"):
        return "json"
    if b"-->" in head:
        return "srt"
    if head.startswith(b"<"):
        return "html"
    return ""


def parse_transcript(data: bytes, mime: str = "") -> Transcript:
    """Parse a publisher transcript; the MIME type decides the format, the content when it is absent."""
    kind = format_of(mime, data)
    parser = {"vtt": parse_vtt, "srt": parse_srt, "json": parse_json, "html": parse_html}.get(kind)
    if parser is None:
        raise ParseError(
            f"transcript type {mime or 'unknown'!r} has no timings podsift can use; "
            "it will transcribe the audio instead"
        )
    segments = [s for s in parser(data) if s.text]
    if not segments:
        raise ParseError(f"the {kind.upper()} transcript holds no timed text; podsift will transcribe the audio")
    return Transcript(segments=segments, source="publisher", format=kind)


def _decode(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


def _seconds(h, m, s, frac) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + (int(frac.ljust(3, "0")) / 1000 if frac else 0.0)


def _cues(text: str):
    """(start, end, lines) for each block that has a `-->` timing line: shared by VTT and SRT."""
    for block in re.split(r"\n\s*\n", text):
        lines = block.split("\n")
        for i, line in enumerate(lines):
            match = CUE_TIMES.match(line)
            if match:
                g = match.groups()
                yield _seconds(*g[:4]), _seconds(*g[4:]), [line for line in lines[i + 1 :] if line.strip()]
                break


def _labelled(text: str, speaker: str) -> tuple[str, str]:
    """Split a "Name: words" label off a cue; keeps `speaker` when there is none."""
    match = LABEL.match(text)
    if match and match.group(1).lower() not in ("note", "update", "edit"):
        return text[match.end() :], match.group(1)
    return text, speaker


def parse_vtt(data: bytes) -> list[Segment]:
    """WebVTT cues; `<v Name>` gives the speaker, other tags and cue settings are dropped."""
    text = _decode(data)
    if not text.lstrip().startswith("WEBVTT"):
        raise ParseError("not a WebVTT file (it must start with WEBVTT)")
    segments, speaker = [], ""
    for start, end, lines in _cues(text):
        body = " ".join(lines)
        voice = VOICE.search(body)
        if voice:
            speaker = voice.group(1).strip()
        words = htmllib.unescape(TAG.sub("", body))
        words, speaker = _labelled(" ".join(words.split()), speaker if voice else "")
        segments.append(Segment(start, max(end, start), words, speaker))
    return _carry_speakers(segments)


def parse_srt(data: bytes) -> list[Segment]:
    """SRT cues; a "Name:" label opening a cue names its speaker until the next label."""
    segments = []
    for start, end, lines in _cues(_decode(data)):
        words = " ".join(htmllib.unescape(TAG.sub("", " ".join(lines))).split())
        words, speaker = _labelled(words, "")
        segments.append(Segment(start, max(end, start), words, speaker))
    return _carry_speakers(segments)


def _carry_speakers(segments: list[Segment]) -> list[Segment]:
    """A labelled cue's speaker goes on through the unlabelled cues after it (SRT habit)."""
    if not any(s.speaker for s in segments):
        return segments
    out, current = [], ""
    for s in segments:
        current = s.speaker or current
        out.append(Segment(s.start, s.end, s.text, current))
    return out


def parse_json(data: bytes) -> list[Segment]:
    """Podcasting 2.0 JSON: {"version": "1.0.0", "segments": [{startTime, endTime, body, speaker}]}."""
    try:
        doc = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise ParseError(f"the JSON transcript is not valid JSON ({exc})") from None
    raw = doc.get("segments") if isinstance(doc, dict) else None
    if not isinstance(raw, list):
        raise ParseError('the JSON transcript has no "segments" list (Podcasting 2.0 format)')
    segments = []
    for item in raw:  # a segment without readable times or words is skipped, not fatal
        if not isinstance(item, dict) or not isinstance(item.get("body"), str):
            continue
        try:
            start, end = float(item["startTime"]), float(item.get("endTime", item["startTime"]))
        except (KeyError, TypeError, ValueError):
            continue
        if not (math.isfinite(start) and math.isfinite(end) and start >= 0):
            continue
        speaker = item.get("speaker")
        speaker = speaker.strip() if isinstance(speaker, str) else ""
        segments.append(Segment(start, max(start, end), " ".join(item["body"].split()), speaker))
    return sorted(segments, key=lambda s: s.start)


def parse_html(data: bytes) -> list[Segment]:
    """The spec's HTML: `<cite>Speaker:</cite> <time>0:53</time> <p>words</p>` repeated."""
    try:
        root = lxml_html.fromstring(data)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"the HTML transcript could not be read ({exc})") from None
    segments, speaker, start = [], "", None
    for el in root.iter("cite", "time", "p"):
        content = " ".join(el.text_content().split())
        if el.tag == "cite":
            speaker = content.rstrip(":").strip()
        elif el.tag == "time":
            match = re.fullmatch(TIMESTAMP, content)
            start = _seconds(*match.groups()) if match else start
        elif content and start is not None:
            segments.append(Segment(start, start, content, speaker))
    # A paragraph ends where the next begins; the last gets a length from its word count.
    for i, seg in enumerate(segments):
        nxt = segments[i + 1].start if i + 1 < len(segments) else seg.start + len(seg.text.split()) / 2.5
        segments[i] = Segment(seg.start, max(seg.start, nxt), seg.text, seg.speaker)
    return segments
