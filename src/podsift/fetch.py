"""Stage 2, fetch: for each 'new' episode, the publisher's transcript if it has a timed one,
else its audio into the cache ('downloaded'). Both functions run in worker threads and touch
only the network and the audio folder; the caller records their results in the store.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from .errors import PodsiftError
from .models import Episode, Transcript, TranscriptLink
from .net import Fetcher
from .parsers.transcript import FORMATS, format_of, parse_transcript
from .sentences import split_segments
from .settings import Settings

AUDIO_SUFFIXES = {".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac", ".webm"}


def best_transcript_links(links: list[TranscriptLink], language: str) -> list[TranscriptLink]:
    """The publisher's timed transcripts, best first: the wanted language, then the richer format."""
    timed = [link for link in links if format_of(link.type) in FORMATS]

    def rank(link: TranscriptLink):
        lang = link.language.lower()
        return (bool(lang) and not lang.startswith(language.lower()), FORMATS.index(format_of(link.type)))

    return sorted(timed, key=rank)


def fetch_transcript(fetcher: Fetcher, episode: Episode, settings: Settings) -> Transcript | None:
    """The publisher's transcript as sentences, or None when the feed offers no usable one.

    Raises the last error when every offered transcript failed, so the caller can say why
    before falling back to speech-to-text."""
    error: PodsiftError | None = None
    for link in best_transcript_links(episode.transcript_links, settings.transcribe.language):
        try:
            response = fetcher.get(link.url, settings.fetch.max_transcript_mb * 1_000_000)
            transcript = parse_transcript(response.content, link.type)
        except PodsiftError as exc:
            error = exc
            continue
        transcript.segments = split_segments(transcript.segments)
        transcript.language = link.language or settings.transcribe.language
        return transcript
    if error:
        raise error
    return None


def audio_path(settings: Settings, episode: Episode) -> Path:
    """Where an episode's audio is cached: the episode id with the file's own suffix."""
    suffix = PurePosixPath(urlsplit(episode.audio_url).path).suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        suffix = mimetypes.guess_extension(episode.audio_type or "") or ".audio"
    return settings.audio_dir / f"{episode.id}{suffix}"


def cache_used(settings: Settings) -> int:
    """Bytes in the audio cache, partial downloads included."""
    folder = settings.audio_dir
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) if folder.exists() else 0


def fits_in_cache(settings: Settings, episode: Episode, reserved: int = 0) -> bool:
    """Whether downloading this episode keeps the cache under its cap (a guess when the size is unknown).

    `reserved` is what downloads already running will add. An empty cache always takes the next
    file, so one episode larger than the cap still gets done."""
    used = cache_used(settings) + reserved
    return used == 0 or used + expected_bytes(episode) <= settings.audio.cache_mb * 1_000_000


def expected_bytes(episode: Episode) -> int:
    """The audio's size from the feed, else a generous guess: 128 kbit/s for its duration or an hour."""
    return episode.audio_bytes if episode.audio_bytes > 0 else int(max(episode.duration, 3600) * 16_000)


def download_audio(
    fetcher: Fetcher, episode: Episode, settings: Settings, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Download an episode's audio into the cache; returns the file."""
    return fetcher.download(
        episode.audio_url, audio_path(settings, episode), settings.fetch.max_audio_mb * 1_000_000, progress
    )
