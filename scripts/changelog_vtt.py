"""Turn a Changelog transcript (Markdown, one `**Speaker:** paragraph` per turn, no times) into WebVTT.

    python scripts/changelog_vtt.py practical-ai-300.transcript.md > practical-ai-300.vtt

The Changelog publishes its transcripts without timings (github.com/thechangelog/transcripts), so
each paragraph becomes one cue whose times are estimated at 2.6 words a second, a typical rate of
conversational speech. The tests use the result as a publisher transcript: what they check is the
text, and an estimated second is still a second of that episode, near where it was said.
"""

from __future__ import annotations

import re
import sys

TURN = re.compile(r"^\*\*(?P<speaker>[^*]+?):\*\*\s*(?P<text>.+)$")
WORDS_PER_SECOND = 2.6


def stamp(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def to_vtt(markdown: str) -> str:
    """WebVTT with one cue per speaker turn, timed by its length in words."""
    cues, at, speaker = ["WEBVTT", ""], 0.0, ""
    for line in markdown.splitlines():
        turn = TURN.match(line.strip())
        text = turn["text"] if turn else line.strip()
        if not text:
            continue
        speaker = turn["speaker"].strip() if turn else speaker
        length = max(1.0, len(text.split()) / WORDS_PER_SECOND)
        cues += [f"{stamp(at)} --> {stamp(at + length)}", f"<v {speaker}>{text}" if speaker else text, ""]
        at += length
    return "\n".join(cues)


if __name__ == "__main__":
    sys.stdout.write(to_vtt(open(sys.argv[1], encoding="utf-8").read()))
