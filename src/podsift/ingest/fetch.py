"""Stage 2, fetch: for each 'new' episode, the publisher's transcript if it has a timed one,
else its audio into the cache ('downloaded'). Both functions run in worker threads and touch
only the network and the audio folder; the caller records their results in the store.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from ..errors import FetchError, PodsiftError
from ..models import Episode, Transcript, TranscriptLink
from ..net import Fetcher
from ..parsers.transcript import FORMATS, format_of, parse_transcript
from ..settings import Settings
from ..transcribe.pcm import BYTES_PER_SECOND
from ..transcribe.sentences import split_segments

SRI_ALGORITHMS = ["sha256", "sha384", "sha512"]  # weakest first
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
    """Bytes in the audio cache, partial downloads included. A file removed while it is measured
    (a download beside this one finishing, a transcribed episode's audio going) counts for nothing."""
    if not settings.audio_dir.exists():
        return 0
    used = 0
    with os.scandir(settings.audio_dir) as entries:
        for entry in entries:
            try:
                used += entry.stat().st_size if entry.is_file() else 0
            except FileNotFoundError:
                continue
    return used


def no_room(settings: Settings, episode: Episode, reserved: int = 0) -> str:
    """Why this episode's download must wait ("" when it may start): a full audio cache, or a disk
    that would fall below its free-space reserve once the audio is in and decoded. Sizes are a
    guess when the feed gives none.

    `reserved` is what downloads already running will add. An empty cache always takes the next
    file (disk allowing), so one episode larger than the cap still gets done."""
    need = expected_bytes(episode)
    used = cache_used(settings) + reserved
    if used and used + need > settings.audio.cache_mb * 1_000_000:
        return "the audio cache is full ([audio] cache_mb)"
    settings.audio_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(settings.audio_dir).free - reserved - need - decoded_bytes(episode)
    if free < settings.audio.min_free_mb * 1_000_000:
        return (
            f"the disk would have under {settings.audio.min_free_mb} MB free once the audio is downloaded and "
            "decoded for transcription; free some space or lower [audio] min_free_mb"
        )
    return ""


def decoded_bytes(episode: Episode) -> int:
    """What transcription writes beside the audio while it runs (`pcm.py`); an hour when the length is unknown."""
    return int((episode.duration or 3600) * BYTES_PER_SECOND)


def expected_bytes(episode: Episode) -> int:
    """The audio's size from the feed, else a generous guess: 128 kbit/s for its duration or an hour."""
    return episode.audio_bytes if episode.audio_bytes > 0 else int(max(episode.duration, 3600) * 16_000)


def download_audio(
    fetcher: Fetcher, episode: Episode, settings: Settings, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Download an episode's audio into the cache and check it against the feed's integrity hash."""
    path = fetcher.download(
        episode.audio_url, audio_path(settings, episode), settings.fetch.max_audio_mb * 1_000_000, progress
    )
    if episode.audio_integrity and settings.fetch.verify_integrity:
        why = integrity_mismatch(path, episode.audio_integrity)
        if why:
            path.unlink()
            raise FetchError(
                f"{episode.audio_url} does not match the feed's podcast:integrity hash ({why}): the file was "
                "changed or damaged on the way. Tell the publisher; set [fetch] verify_integrity = false to "
                "accept such files"
            )
    return path


def integrity_mismatch(path: Path, sri: str) -> str:
    """Why a file fails a Subresource Integrity string ("sha384-<base64> ..."), or "" when it passes.

    As in browsers, only the strongest algorithm listed counts, and any of its hashes may match;
    a string with no algorithm podsift knows passes."""
    hashes: dict[str, set[str]] = {}
    for token in sri.split():
        algorithm, _, value = token.partition("-")
        if algorithm.lower() in SRI_ALGORITHMS:
            hashes.setdefault(algorithm.lower(), set()).add(value.split("?")[0])
    if not hashes:
        return ""
    algorithm = max(hashes, key=SRI_ALGORITHMS.index)
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    actual = base64.b64encode(digest.digest()).decode()
    return "" if actual in hashes[algorithm] else f"{algorithm} is {actual}"
