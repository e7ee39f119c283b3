"""Transcription side by side: podsift's transcriber against faster-whisper as a user would call it.

    python bench/transcribe.py FEEDS_DIR CORPUS_DIR [--limit N] [--json out.json]

FEEDS_DIR holds the corpus's spoken episodes (`<show>/<episode>.mp3`, as ../shared/bench/build_feeds.py
writes them; bench/run.sh and bench/ingest.sh build it), CORPUS_DIR their scripts
(`<show>/<episode>.json`). Both systems use the same model (the bundled whisper tiny.en, loaded
once each, loading not timed) on the same files, alternating which goes first from one episode to
the next so that drift on a busy machine falls on both. The baseline is faster-whisper's README
example for a CPU, `WhisperModel(model, device="cpu", compute_type="int8").transcribe(path)`, with
the defaults of `transcribe` (sequential, beam 5); podsift's side is its default settings. Word error rate is
against the script, both sides normalised by Whisper's own English normaliser (case, punctuation,
numbers and spellings), as Whisper's papers score it: `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

from podsift.settings import TranscribeSettings
from podsift.transcribe.whisper import WhisperTranscriber, bundled_model_path


@functools.cache
def normaliser():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def words(text: str) -> list[str]:
    """Whisper's English normalisation: "thirty seven percent" and "37%" are the same words."""
    return normaliser()(text).split()


def errors(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level edit distance (substitutions, insertions, deletions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def baseline(model, path: Path) -> str:
    """faster-whisper's defaults, as its README shows them."""
    segments, _ = model.transcribe(str(path))
    return " ".join(s.text for s in segments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("feeds", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="only the first N episodes (0: all)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()

    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    episodes = sorted(options.feeds.glob("*/*.mp3"))[: options.limit or None]
    fw = WhisperModel(str(bundled_model_path()), device="cpu", compute_type="int8")  # its README's CPU example
    podsift = WhisperTranscriber(TranscribeSettings())
    podsift.transcribe(episodes[0])  # loads the model and warms both code paths' caches
    baseline(fw, episodes[0])

    rows = []
    for n, path in enumerate(episodes):
        script = json.loads((options.corpus / path.parent.name / f"{path.stem}.json").read_text())
        reference = words(" ".join(turn["text"] for turn in script["turns"]))
        seconds = len(decode_audio(str(path))) / 16000
        runs = {}
        order = ["faster-whisper", "podsift"] if n % 2 == 0 else ["podsift", "faster-whisper"]
        for system in order:
            started = time.perf_counter()
            text = baseline(fw, path) if system == "faster-whisper" else podsift.transcribe(path).text
            runs[system] = (time.perf_counter() - started, errors(reference, words(text)))
        rows.append({"episode": path.stem, "audio_s": seconds, "words": len(reference), **_row(runs)})
        rows[-1].update(_rates(rows[-1]))
        r = rows[-1]
        print(
            f"{path.stem[:34]:34} {seconds:6.0f} s  faster-whisper {r['fw_x']:5.1f}x WER {r['fw_wer']:5.1%}  "
            f"podsift {r['podsift_x']:5.1f}x WER {r['podsift_wer']:5.1%}",
            flush=True,
        )
    summary = _summary(rows)
    print(
        f"\nall {len(rows)} episodes, {summary['audio_s']:.0f} s of audio: faster-whisper defaults "
        f"{summary['fw_x']:.1f}x real time, WER {summary['fw_wer']:.1%}; podsift {summary['podsift_x']:.1f}x, "
        f"WER {summary['podsift_wer']:.1%}; podsift is {summary['speedup']:.2f}x faster"
    )
    if options.json:
        options.json.write_text(json.dumps({"episodes": rows, "summary": summary}, indent=2))


def _row(runs: dict) -> dict:
    (fw_s, fw_e), (ps_s, ps_e) = runs["faster-whisper"], runs["podsift"]
    return {"fw_s": fw_s, "fw_errors": fw_e, "podsift_s": ps_s, "podsift_errors": ps_e}


def _rates(totals: dict) -> dict:
    """Speeds (audio seconds per second), WERs and the speed-up from summed seconds and errors."""
    return {
        "fw_x": totals["audio_s"] / totals["fw_s"],
        "podsift_x": totals["audio_s"] / totals["podsift_s"],
        "speedup": totals["fw_s"] / totals["podsift_s"],
        "fw_wer": totals["fw_errors"] / totals["words"],
        "podsift_wer": totals["podsift_errors"] / totals["words"],
    }


def _summary(rows: list[dict]) -> dict:
    keys = ("audio_s", "words", "fw_s", "fw_errors", "podsift_s", "podsift_errors")
    totals = {key: sum(r[key] for r in rows) for key in keys}
    return {**totals, **_rates(totals)}


if __name__ == "__main__":
    main()
