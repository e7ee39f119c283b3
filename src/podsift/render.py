"""Text, WebVTT and JSON renderings of what podsift stores."""

from __future__ import annotations

import json

from .models import Episode, Transcript


def clock(seconds: float) -> str:
    """12:34 or 1:02:03: a time in an episode as people read it."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def transcript_text(transcript: Transcript) -> str:
    """One line a sentence: time, speaker when known, words."""
    lines = []
    for s in transcript.segments:
        speaker = f"{s.speaker}: " if s.speaker else ""
        lines.append(f"[{clock(s.start)}] {speaker}{s.text}")
    return "\n".join(lines) + "\n"


def transcript_vtt(transcript: Transcript) -> str:
    """WebVTT, one cue a sentence, speakers as voice tags."""
    cues = []
    for s in transcript.segments:
        voice = f"<v {s.speaker}>" if s.speaker else ""
        cues.append(f"{_vtt_time(s.start)} --> {_vtt_time(s.end)}\n{voice}{s.text}")
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def transcript_json(episode: Episode, transcript: Transcript) -> str:
    """The episode's identity and its sentence segments as JSON."""
    doc = {
        "guid": episode.guid,
        "title": episode.title,
        "podcast": episode.show_title,
        "audio_url": episode.audio_url,
        "source": transcript.source,
        "format": transcript.format,
        "model": transcript.model,
        "language": transcript.language,
        "segments": [
            {"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text} for s in transcript.segments
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
