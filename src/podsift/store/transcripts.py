"""Transcripts: one per episode, however many people follow its show, with each sentence in the
search index."""

from __future__ import annotations

import json

from ..errors import NotFound
from ..models import Segment, Transcript
from .db import Database
from .episodes import Episodes
from .rows import now


class Transcripts:
    def __init__(self, db: Database, episodes: Episodes):
        self.db, self.episodes = db, episodes

    def save(self, episode_id: int, transcript: Transcript, work_seconds: float = 0.0) -> None:
        """Store an episode's transcript and mark it transcribed, in one transaction."""
        segments = json.dumps([[s.start, s.end, s.speaker, s.text] for s in transcript.segments], ensure_ascii=False)
        with self.db.transaction():
            added = self.db.execute(
                "INSERT INTO transcripts (episode_id, source, format, language, model, segments, audio_seconds, "
                "work_seconds, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (episode_id) DO NOTHING",
                (
                    episode_id,
                    transcript.source,
                    transcript.format,
                    transcript.language,
                    transcript.model,
                    segments,
                    transcript.duration,
                    work_seconds,
                    now(),
                ),
            ).rowcount
            if added:  # a transcript stored already keeps its sentences in the index once
                index(self.db, "sentence", episode_id, [(seg.start, seg.text) for seg in transcript.segments])
            self.episodes.set_state(episode_id, "transcribed", release=True)

    def speech_speed(self, recent: int = 20) -> float | None:
        """Audio seconds speech-to-text got through per second of work over the last `recent`
        transcriptions, or None before the first: what a scan's time budget expects of the next."""
        row = self.db.one(
            "SELECT sum(audio_seconds), sum(work_seconds) FROM (SELECT audio_seconds, work_seconds FROM transcripts "
            "WHERE source = 'whisper' AND work_seconds > 0 ORDER BY created_at DESC LIMIT %s) recent",
            (recent,),
        )
        return float(row[0]) / float(row[1]) if row and row[1] else None

    def exists(self, episode_id: int) -> bool:
        return self.db.one("SELECT 1 FROM transcripts WHERE episode_id = %s", (episode_id,)) is not None

    def get(self, episode_id: int) -> Transcript:
        row = self.db.one("SELECT * FROM transcripts WHERE episode_id = %s", (episode_id,))
        if row is None:
            raise NotFound(f"episode {episode_id} has no transcript yet; run `podsift scan`")
        segments = [Segment(start, end, text, speaker) for start, end, speaker, text in json.loads(row["segments"])]
        return Transcript(
            segments=segments, source=row["source"], format=row["format"], language=row["language"], model=row["model"]
        )


def index(db: Database, kind: str, episode_id: int, entries: list[tuple[float, str]]) -> None:
    """Add one episode's (ref, text) entries to the search index, each under the episode's show,
    so a search can be narrowed to the shows a reader follows (migration 0014)."""
    if not entries:
        return
    show_id = db.value("SELECT show_id FROM episodes WHERE id = %s", (episode_id,))
    db.many(
        "INSERT INTO search (kind, ref, episode_id, show_id, text) VALUES (%s, %s, %s, %s, %s)",
        [(kind, ref, episode_id, show_id, text) for ref, text in entries],
    )
