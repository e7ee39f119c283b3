"""Which episodes a scan transcribes first, and how many fit in its time budget.

Episodes go most valuable first: those of shows whose insights readers voted up (net of votes
down), then the newest. With `[scan] time_budget`, an episode is started only if it is expected
to be done before the budget runs out, at the speed speech-to-text has been measured to go; what
does not fit waits, in the store, for the next scan. The first episode of a scan always goes, so
that an episode longer than the whole budget is not put off forever.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..models import Episode

# Audio seconds per second of work, expected before this install has timed any: tiny.en does about
# 20 on two cores (docs/performance.md); half that leaves room for a slower machine.
FIRST_SPEED = 10.0
BYTES_PER_SECOND = 16_000  # 128 kbit/s: an episode's length guessed from its size when the feed gives none
UNKNOWN_LENGTH_S = 3600.0  # nor its size


def by_value(episodes: list[Episode], votes: dict[int, int]) -> list[Episode]:
    """Most valuable first: by the net votes on their show's insights (`votes`: show id -> net
    votes), then newest first."""
    return sorted(episodes, key=lambda e: value(e, votes), reverse=True)


def value(episode: Episode, votes: dict[int, int]) -> tuple[int, float]:
    """What orders episodes, larger first: their show's net votes, then when they were published."""
    published = episode.published_at.timestamp() if episode.published_at else float("-inf")
    return votes.get(episode.show_id, 0), published


def audio_length(episode: Episode) -> float:
    """An episode's length in seconds, from its feed: the duration it gives, else its size."""
    if episode.duration > 0:
        return episode.duration
    return episode.audio_bytes / BYTES_PER_SECOND if episode.audio_bytes > 0 else UNKNOWN_LENGTH_S


@dataclass
class Budget:
    """What is left of a scan's time budget, and whether the next episode fits in it."""

    seconds: float  # the whole budget; 0: no limit
    speed: float = FIRST_SPEED  # audio seconds per second of work expected
    started: float = field(default_factory=time.monotonic)
    audio_done: float = 0.0  # what this scan has transcribed, and how long that took
    work_done: float = 0.0

    @property
    def limited(self) -> bool:
        return self.seconds > 0

    def work(self, episode: Episode) -> float:
        """Seconds that transcribing `episode` is expected to take."""
        speed = self.audio_done / self.work_done if self.work_done else self.speed
        return audio_length(episode) / speed

    def fits(self, episode: Episode, promised: float = 0.0) -> bool:
        """Whether `episode` is expected to be done within the budget after `promised` seconds of
        work already taken on (episodes downloading or waiting to be transcribed)."""
        if not self.limited or (not promised and not self.work_done):
            return True
        return time.monotonic() - self.started + promised + self.work(episode) <= self.seconds

    def record(self, audio_seconds: float, work_seconds: float) -> None:
        """One episode transcribed: from now on, expect this scan's own speed."""
        self.audio_done += audio_seconds
        self.work_done += work_seconds

    def reason(self) -> str:
        return f"the rest would run past [scan] time_budget ({self.seconds / 60:g} min)"
