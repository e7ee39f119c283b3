"""An episode's audio decoded once to 16 kHz mono 16-bit samples in a file beside it, read back one
span at a time. Held in memory as float32, as faster-whisper's `decode_audio` returns it, a
three-hour episode took 1.7 GB to decode and 2.4 GB once VAD ran over it (docs/performance.md);
on disk it takes 1.9 MB a minute, and memory holds only the spans being decoded.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ..errors import TranscriptionError

SAMPLE_RATE = 16_000
BYTES_PER_SAMPLE = 2
BYTES_PER_SECOND = SAMPLE_RATE * BYTES_PER_SAMPLE  # what an episode's decoded samples take on disk


class Pcm:
    """Decoded audio: `seconds` long, read with `clip((start, end))`. Use as a context manager to
    delete the file; `Pcm.decode` makes one."""

    def __init__(self, path: Path):
        self.path = path
        self.seconds = path.stat().st_size / BYTES_PER_SECOND

    @classmethod
    def decode(cls, audio: Path) -> "Pcm":
        """Decode any file PyAV (FFmpeg) reads into `<audio>.pcm`, a block at a time; damaged frames are skipped."""
        import av  # faster-whisper's own dependency, with FFmpeg inside its wheels

        out = audio.with_name(audio.name + ".pcm")
        try:
            with av.open(str(audio), metadata_errors="ignore") as container, open(out, "wb") as f:
                resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                for frame in itertools.chain(_grouped(_valid_frames(container.decode(audio=0))), [None]):
                    for resampled in resampler.resample(frame):
                        f.write(resampled.to_ndarray().tobytes())
        except Exception as exc:  # PyAV's errors share no base class podsift could name
            if out.is_file():
                out.unlink()
            if isinstance(exc, OSError) and not isinstance(exc, av.error.FFmpegError):
                raise TranscriptionError(
                    f"cannot write the decoded audio of {audio.name} to {out} ({exc.strerror or exc}); it needs "
                    f"about {BYTES_PER_SECOND * 60 / 1e6:.1f} MB a minute of audio: free some space "
                    "there, then scan again"
                ) from None
            raise TranscriptionError(
                f"cannot decode {audio.name} ({exc}); the file is not audio podsift can read"
            ) from None
        return cls(out)

    def clip(self, span: tuple[float, float]) -> np.ndarray:
        """The samples of [start, end) seconds as float32, as whisper and the VAD take them."""
        first = max(0, int(span[0] * SAMPLE_RATE))
        count = max(0, int(span[1] * SAMPLE_RATE) - first)
        pcm = np.fromfile(self.path, dtype="<i2", count=count, offset=first * BYTES_PER_SAMPLE)
        return pcm.astype(np.float32) / 32768.0

    def __enter__(self) -> "Pcm":
        return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


def _valid_frames(frames):
    """Decoded frames, skipping those FFmpeg finds damaged, as faster-whisper does."""
    import av

    iterator = iter(frames)
    while True:
        try:
            frame = next(iterator)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue
        frame.pts = None  # the resampler checks timestamps, which damaged files get wrong
        yield frame


def _grouped(frames, samples: int = 500_000):
    """Frames joined into blocks of about `samples`: resampling frame by frame took four times as long."""
    import av

    fifo = av.audio.fifo.AudioFifo()
    for frame in frames:
        fifo.write(frame)
        if fifo.samples >= samples:
            yield fifo.read()
    if fifo.samples:
        yield fifo.read()
