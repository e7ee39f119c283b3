"""The speech-to-text transcriber: its chunking and gap-filling rules, and the real model on speech
made here, with sentences placed at known seconds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import SENTENCES
from faster_whisper.audio import decode_audio

from podsift.errors import TranscriptionError
from podsift.models import Segment
from podsift.settings import TranscribeSettings
from podsift.transcribe import whisper as stt
from podsift.transcribe.pcm import SAMPLE_RATE, Pcm
from podsift.transcribe.whisper import (
    merged,
    sections,
    speech_spans,
    uncovered,
    whole_words,
    workers_and_threads,
)


def w(start: float, end: float, text: str = " word") -> Segment:
    return Segment(start, end, text)


def said(words) -> list[str]:
    """The words of a text or of timed words, without case or punctuation."""
    text = words if isinstance(words, str) else "".join(x.text for x in words)
    return re.findall(r"[a-z0-9']+", text.lower())


def test_audio_is_cut_in_pauses_into_even_sections_one_round_per_worker():
    speech = [(float(t), t + 9.0) for t in range(0, 100, 10)]  # ten 9 s stretches, 1 s pauses
    assert sections(speech, 30.0, 105.0) == [(0.0, 29.5), (29.5, 69.5), (69.5, 105.0)]  # 27, 36, 27 s of speech
    assert sections(speech, 60.0, 105.0, workers=2) == [(0.0, 49.5), (49.5, 105.0)]
    longer = [(float(t), t + 9.0) for t in range(0, 200, 10)]  # 180 s of speech
    assert len(sections(longer, 40.0, 205.0, workers=2)) == 6  # five sections' worth, rounded up to three rounds
    assert len(sections(speech, 30.0, 105.0, workers=2)) == 3  # four would leave less than 30 s of speech each
    assert sections([(1.0, 20.0)], 120.0, 25.0, workers=2) == [(0.0, 25.0)]
    assert sections([], 30.0, 12.0, workers=2) == [(0.0, 12.0)]


def test_uncovered_speech_is_found_and_breaths_are_ignored():
    speech = [(0.0, 20.0)]
    words = [w(0.1, 0.5), w(0.5, 5.0), w(5.6, 6.0), w(12.0, 20.0)]  # 0.6 s pause at 5 s; 6-12 s lost
    assert uncovered(speech, words) == [(6.3, 11.7)]
    assert uncovered(speech, words + [w(6.0, 12.0)]) == []
    assert uncovered([(0.0, 3.0), (30.0, 40.0)], []) == [(0.0, 3.0), (30.0, 40.0)]


def test_gaps_less_than_a_second_apart_are_decoded_together():
    speech = [(0.0, 10.0)]
    assert uncovered(speech, [w(3.0, 3.4)]) == [(0.0, 10.0)]  # one word in the middle of a lost stretch
    assert uncovered(speech, [w(3.0, 5.0)]) == [(0.0, 2.7), (5.3, 10.0)]


def test_second_pass_words_heard_twice_are_dropped():
    first = [w(1.0, 2.0, " one"), w(5.0, 6.0, " four")]
    second = [w(1.2, 2.1, " one"), w(2.5, 3.0, " two"), w(3.0, 4.0, " three")]
    assert [x.text for x in merged(first, second)] == [" one", " two", " three", " four"]


def test_pieces_whisper_times_apart_become_one_word():
    words = [
        w(0, 1, " about"),
        w(1, 2, " 10"),
        w(2, 2.5, ",000"),
        w(2.5, 3, " years"),
        w(3, 4, " example"),
        w(4, 5, ".com"),
    ]
    joined = whole_words(words)
    assert [x.text for x in joined] == [" about", " 10,000", " years", " example.com"]
    assert (joined[1].start, joined[1].end) == (1, 2.5)


@pytest.mark.parametrize(
    "settings, cores, expected",
    [
        (TranscribeSettings(), 2, (2, 1)),
        (TranscribeSettings(), 16, (4, 4)),
        (TranscribeSettings(device="cuda"), 8, (1, 8)),
        (TranscribeSettings(workers=1), 2, (1, 2)),
        (TranscribeSettings(workers=3, cpu_threads=2), 2, (3, 2)),
    ],
)
def test_one_single_threaded_worker_per_core_by_default(settings, cores, expected):
    assert workers_and_threads(settings, cores) == expected


@pytest.fixture(scope="session")
def episode(clips, tmp_path_factory) -> tuple[Path, list[float]]:
    """The four spoken sentences with pauses of 1 to 4 s between them, as 16 kHz WAV, and the
    second each sentence starts."""
    parts, starts, at = [], [], 0.0
    for clip, pause in zip(clips, (1.0, 4.0, 1.5, 2.5), strict=True):
        speech = decode_audio(str(clip))
        first = np.flatnonzero(np.abs(speech) > 0.02)[0] / SAMPLE_RATE  # espeak starts with a little silence
        parts += [np.zeros(int(pause * SAMPLE_RATE), np.float32), speech]
        starts.append(at + pause + first)
        at += pause + len(speech) / SAMPLE_RATE
    path = tmp_path_factory.mktemp("episode") / "episode.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(SAMPLE_RATE)
        out.writeframes((np.concatenate(parts) * 32767).astype("<i2").tobytes())
    return path, starts


def test_every_sentence_starts_at_the_second_it_is_spoken(whisper, episode):
    path, starts = episode
    seen = []
    transcript = whisper.transcribe(path, seen.append)
    assert len(transcript.segments) == 4
    for segment, sentence, start in zip(transcript.segments, SENTENCES, starts, strict=True):
        assert segment.text.split()[-1].strip(".").lower() == sentence.split()[-1].strip(".").lower()
        assert abs(segment.start - start) < 0.5, (segment, start)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(len(decode_audio(str(path))) / SAMPLE_RATE)
    assert list(path.parent.iterdir()) == [path]  # the decoded samples are gone with the transcription


def test_decoded_audio_is_read_back_span_by_span(episode, tmp_path):
    path, _ = episode
    reference = decode_audio(str(path))  # faster-whisper's decoder, all in memory
    with Pcm.decode(path) as pcm:
        assert pcm.seconds == pytest.approx(len(reference) / SAMPLE_RATE)
        assert np.abs(pcm.clip((0, pcm.seconds)) - reference).max() < 1e-4
        assert np.array_equal(pcm.clip((2.0, 2.5)), pcm.clip((0, pcm.seconds))[32000:40000])
        assert len(pcm.clip((pcm.seconds - 1, pcm.seconds + 5))) == SAMPLE_RATE  # a span past the end stops there
    assert not pcm.path.exists()


def test_speech_found_window_by_window_is_the_speech_found_at_once(episode, monkeypatch):
    path, starts = episode
    with Pcm.decode(path) as pcm:
        whole = speech_spans(pcm)
        monkeypatch.setattr(stt, "VAD_WINDOW_S", 3.0)  # edges fall inside sentences
        windowed = speech_spans(pcm)
    assert len(whole) == 4 and [s for s, _ in whole] == pytest.approx(starts, abs=0.5)  # VAD pads speech
    # No sentence is split at a window's edge and none is lost; an edge costs at most the VAD's padding.
    assert len(windowed) == len(whole)
    assert np.abs(np.array(windowed) - np.array(whole)).max() <= 0.4
    assert all(any(s <= start + 0.1 <= e for s, e in windowed) for start in starts)


def test_speech_the_first_pass_left_out_is_found_again(whisper, episode):
    path, starts = episode
    with Pcm.decode(path) as pcm:
        words = whisper.words(pcm, "en")
        lost = [x for x in words if starts[1] - 0.5 <= x.start < starts[2] - 0.5]  # the honey sentence
        assert said(lost) == said(SENTENCES[1])
        kept = [x for x in words if x not in lost]
        found = whisper.fill_gaps(pcm, speech_spans(pcm), kept, "en")
    again = [x for x in found if x not in kept]
    assert len(set(said(again)) & set(said(SENTENCES[1]))) >= 6, again  # tiny.en mishears a word or two alone
    assert abs(again[0].start - starts[1]) < 0.75  # a clip's first word starts where the clip does
    assert [x for x in found if x in kept] == kept and found == sorted(found, key=lambda x: x.start)


def test_silence_gives_an_empty_transcript_not_invented_words(whisper, tmp_path):
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(2 * SAMPLE_RATE * 20))
    assert whisper.transcribe(path).segments == []


def test_a_file_that_is_not_audio_says_so(whisper, tmp_path):
    path = tmp_path / "episode.mp3"
    path.write_text("<html><body>Sorry, this episode has moved.</body></html>")
    with pytest.raises(TranscriptionError, match="cannot decode episode.mp3 .*not audio"):
        whisper.transcribe(path)
    assert list(tmp_path.iterdir()) == [path]


def test_no_room_for_the_decoded_audio_says_so_not_that_it_is_not_audio(whisper, episode, tmp_path):
    path = tmp_path / "episode.wav"
    path.write_bytes(episode[0].read_bytes())
    (tmp_path / "episode.wav.pcm").mkdir()  # where the samples go cannot be written, as on a full disk
    with pytest.raises(TranscriptionError, match="cannot write the decoded audio of episode.wav .*free some space"):
        whisper.transcribe(path)


def test_a_system_without_sched_getaffinity_still_counts_its_cores():
    """macOS and Windows have no os.sched_getaffinity: the transcriber must not need it (every scan
    failed there). The module is loaded in a fresh interpreter whose os lacks it, as theirs does."""
    code = (
        "import os; del os.sched_getaffinity\n"
        "from podsift.settings import TranscribeSettings\n"
        "from podsift.transcribe.whisper import workers_and_threads\n"
        "print(*workers_and_threads(TranscribeSettings()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    workers, threads = map(int, done.stdout.split())
    assert workers == min(os.cpu_count(), 4) and threads >= 1


@pytest.mark.skipif(not shutil.which("taskset") or len(os.sched_getaffinity(0)) < 2, reason="needs taskset, 2 cores")
def test_a_process_pinned_to_one_core_decodes_and_embeds_on_one_thread():
    """A `podsift worker` per core (taskset, or a container's CPU set) must not run two decoders
    and two embedding threads on its one core: they would only take turns."""
    code = (
        "from podsift.settings import TranscribeSettings\n"
        "from podsift.transcribe.whisper import workers_and_threads\n"
        "from podsift.insights.embed import MiniLM\n"
        "print(*workers_and_threads(TranscribeSettings()), MiniLM().threads)"
    )
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True)
    free = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert pinned.returncode == 0 and free.returncode == 0, pinned.stderr + free.stderr
    assert pinned.stdout.split() == ["1", "1", "1"]
    assert free.stdout.split()[2] == "2"
