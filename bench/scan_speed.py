#!/usr/bin/env python3
"""A whole cold `podsift scan` against faster-whisper's defaults on the same audio, side by side.

    python bench/scan_speed.py FEEDS_DIR CORPUS_DIR [--sets day,three,long] [--rounds 1]
                               [--device cpu|cuda] [--json out.json]

FEEDS_DIR holds the dev corpus's spoken episodes (`<show>/<episode>.mp3`, as
../shared/bench/build_feeds.py writes them), CORPUS_DIR their scripts (`<show>/<episode>.json`).
Each set of episodes is served on loopback in one feed without transcripts:
  - day: every episode in FEEDS_DIR (the dev corpus: a day of short episodes);
  - three: the first three alone;
  - long: two episodes of about 60 minutes, each the dev episodes joined end to end (ffmpeg, no
    re-encoding), its script the scripts joined.

podsift's side is what a user runs: a new process, `podsift scan` on an empty store that follows
the feed, timed from start to exit (imports, model loading, polling, downloads, decoding, VAD,
speech-to-text with word timestamps, insight extraction). The baseline is faster-whisper's README
call, `WhisperModel(model, device="cpu", compute_type="int8").transcribe(path)` (sequential, beam
5), each file in turn in a new process, timing only the transcription: its imports and model
loading are left out, which favours the baseline. Both use the bundled tiny.en. With
`--device cuda` both sides run on the GPU (`[transcribe] device = "cuda"`, and the README's GPU
call, `compute_type="float16"`); the script refuses to run where CTranslate2 sees no GPU.

Word error rate is against the scripts after Whisper's English normaliser (bench/transcribe.py).
Peak memory is each process's maximum resident set (`/usr/bin/time`). With several rounds the
order alternates, so drift on a busy machine falls on both. Needs `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from growth import serve  # noqa: E402  a static site on loopback
from scale import table  # noqa: E402
from transcribe import errors, words  # noqa: E402  WER as bench/transcribe.py scores it

from podsift.settings import load_settings  # noqa: E402
from podsift.store import open_store  # noqa: E402

SETTINGS = "[scan]\nfirst_scan_days = 3650\nfirst_scan_max = 100000\n"  # the whole feed is the day's work
LONG_S = 3600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("feeds", type=Path, help="the dev corpus's built feeds")
    parser.add_argument("corpus", type=Path, help="the dev corpus's scripts")
    parser.add_argument("--sets", default="day,three,long", help="which sets, comma-separated")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each side per set, order alternating")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--baseline-files", nargs="+", type=Path, help=argparse.SUPPRESS)  # the baseline's process
    args = parser.parse_args()
    if args.baseline_files:
        return baseline_process(args.baseline_files, args.device)
    if args.device == "cuda":
        require_gpu()
    work = Path(tempfile.mkdtemp(prefix="podsift-scan-speed-"))
    results = {}
    try:
        for name in args.sets.split(","):
            site = work / name
            episodes = build_set(name, args.feeds, args.corpus, site)
            results[name] = compare(site, episodes, args.rounds, args.device)
            report(name, results[name])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{os.cpu_count()} cores, device {args.device}")
    table(
        ["set", "episodes", "audio", "faster-whisper", "WER", "podsift scan", "WER", "speed-up", "peak RSS"],
        [
            (
                name,
                r["episodes"],
                f"{r['audio_s'] / 60:.0f} min",
                f"{r['baseline_s']:.1f} s ({r['audio_s'] / r['baseline_s']:.1f}x)",
                f"{r['baseline_wer']:.1%}",
                f"{r['podsift_s']:.1f} s ({r['audio_s'] / r['podsift_s']:.1f}x)",
                f"{r['podsift_wer']:.1%}",
                f"**{r['baseline_s'] / r['podsift_s']:.2f}x**",
                f"{r['podsift_mb']:.0f} MB (baseline {r['baseline_mb']:.0f} MB)",
            )
            for name, r in results.items()
        ],
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


# -- the sets ----------------------------------------------------------------------------------


def build_set(name: str, feeds: Path, corpus: Path, site: Path) -> list[dict]:
    """Copy (or join) a set's audio into `site`; return its episodes: file, script words, seconds."""
    site.mkdir(parents=True)
    sources = sorted(feeds.glob("*/*.mp3"))
    if not sources:
        raise SystemExit(f"{feeds} holds no <show>/<episode>.mp3: build it with ../shared/bench/build_feeds.py")
    if name == "day":
        groups = [[p] for p in sources]
    elif name == "three":
        groups = [[p] for p in sources[:3]]
    elif name == "long":
        groups = long_groups(sources)
    else:
        raise SystemExit(f"unknown set {name!r}: the sets are day, three and long")
    episodes = []
    for n, group in enumerate(groups):
        path = site / f"e{n}.mp3"
        join_audio(group, path)
        script = " ".join(script_text(corpus / p.parent.name / f"{p.stem}.json") for p in group)
        episodes.append({"file": path, "reference": words(script), "audio_s": seconds_of(path)})
    return episodes


def long_groups(sources: list[Path]) -> list[list[Path]]:
    """Two runs of consecutive episodes of at least LONG_S each, the second starting halfway round."""
    groups = []
    for start in (0, len(sources) // 2):
        group, total = [], 0.0
        for path in sources[start:] + sources[:start]:
            group.append(path)
            total += seconds_of(path)
            if total >= LONG_S:
                break
        groups.append(group)
    return groups


def join_audio(parts: list[Path], out: Path) -> None:
    if len(parts) == 1:
        shutil.copy(parts[0], out)
        return
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{p.resolve()}'\n" for p in parts))
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out)], check=True
    )
    listing.unlink()


def script_text(path: Path) -> str:
    return " ".join(turn["text"] for turn in json.loads(path.read_text())["turns"])


def seconds_of(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return container.duration / 1_000_000


def write_feed(site: Path, base: str, episodes: list[dict]) -> Path:
    """One feed of the set's episodes, published an hour ago; returns its OPML."""
    published = datetime.now(timezone.utc) - timedelta(hours=1)
    items = "".join(
        f"<item><title>Episode {n}</title><guid>e{n}</guid><pubDate>{format_datetime(published)}</pubDate>"
        f'<enclosure url="{base}/{e["file"].name}" length="{e["file"].stat().st_size}" type="audio/mpeg"/></item>'
        for n, e in enumerate(episodes)
    )
    (site / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{escape("Speed")}</title>{items}</channel></rss>'
    )
    opml = site / "feeds.opml"
    opml.write_text(
        f'<?xml version="1.0"?><opml version="2.0"><body><outline type="rss" text="Speed" xmlUrl="{base}/feed.xml"/>'
        "</body></opml>"
    )
    return opml


# -- the two sides -----------------------------------------------------------------------------


def compare(site: Path, episodes: list[dict], rounds: int, device: str) -> dict:
    """Both sides `rounds` times, order alternating; the sums over rounds, per side."""
    server = serve(site)
    opml = write_feed(site, f"http://127.0.0.1:{server.server_address[1]}", episodes)
    runs: dict[str, list[dict]] = {"podsift": [], "baseline": []}
    try:
        for n in range(rounds):
            for side in ("podsift", "baseline") if n % 2 == 0 else ("baseline", "podsift"):
                run = podsift_scan(opml, device) if side == "podsift" else baseline(episodes, device)
                runs[side].append(run)
                print(f"  round {n + 1}, {side}: {run['seconds']:.1f} s, peak {run['mb']:.0f} MB", flush=True)
    finally:
        server.shutdown()
    reference = sum(len(e["reference"]) for e in episodes)
    result = {"episodes": len(episodes), "audio_s": sum(e["audio_s"] for e in episodes), "words": reference}
    for side, done in runs.items():
        wrong = [sum(errors(e["reference"], words(r["texts"][n])) for n, e in enumerate(episodes)) for r in done]
        result[f"{side}_s"] = sum(r["seconds"] for r in done) / rounds
        result[f"{side}_mb"] = max(r["mb"] for r in done)
        result[f"{side}_wer"] = sum(wrong) / (reference * rounds)
        result[f"{side}_runs"] = [r["seconds"] for r in done]
    return result


def podsift_scan(opml: Path, device: str) -> dict:
    """A new home following the feed, and one timed `podsift scan` in a new process."""
    home = Path(tempfile.mkdtemp(prefix="podsift-scan-speed-home-"))
    gpu = '[transcribe]\ndevice = "cuda"\ncompute_type = "float16"\n' if device == "cuda" else ""
    (home / "podsift.toml").write_text(SETTINGS + gpu)
    env = {**os.environ, "PODSIFT_HOME": str(home), "PODSIFT_ALLOW_PRIVATE_NETWORKS": "1"}
    subprocess.run([sys.executable, "-m", "podsift", "subscribe", str(opml)], env=env, check=True, capture_output=True)
    seconds, mb, _ = timed_process([sys.executable, "-m", "podsift", "scan", "--quiet"], env)
    with open_store(load_settings(home, env)) as store:
        found = {e.guid: e.id for e in store.episodes.matching()}
        texts = [store.transcripts.get(found[f"e{n}"]).text for n in range(len(found))]
    shutil.rmtree(home, ignore_errors=True)
    return {"seconds": seconds, "mb": mb, "texts": texts}


def baseline(episodes: list[dict], device: str) -> dict:
    """faster-whisper's defaults on every file, in a new process; only the transcription is timed."""
    files = [str(e["file"]) for e in episodes]
    command = [sys.executable, __file__, "-", "-", "--device", device, "--baseline-files", *files]
    _, mb, out = timed_process(command, dict(os.environ))
    found = json.loads(out)
    return {"seconds": found["seconds"], "mb": mb, "texts": found["texts"]}


def baseline_process(files: list[Path], device: str) -> None:
    """The baseline's own process: load the model untimed, then transcribe each file in turn."""
    from faster_whisper import WhisperModel

    from podsift.transcribe.whisper import bundled_model_path

    compute_type = "float16" if device == "cuda" else "int8"  # the README's GPU and CPU examples
    model = WhisperModel(str(bundled_model_path()), device=device, compute_type=compute_type)
    started, texts = time.perf_counter(), []
    for path in files:
        segments, _ = model.transcribe(str(path))
        texts.append(" ".join(s.text for s in segments))
    print(json.dumps({"seconds": time.perf_counter() - started, "texts": texts}))


def timed_process(command: list[str], env: dict) -> tuple[float, float, str]:
    """Run a command to its end: (wall seconds, peak resident MB, its output)."""
    with tempfile.NamedTemporaryFile(suffix=".time") as record:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", record.name, *command], env=env, capture_output=True)
        seconds = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stderr.decode()[-2000:]}")
        return seconds, int(Path(record.name).read_text().split()[-1]) / 1024, done.stdout.decode()


def require_gpu() -> None:
    import ctranslate2

    if ctranslate2.get_cuda_device_count() == 0:
        raise SystemExit("--device cuda: CTranslate2 sees no CUDA device on this machine; run it where one is present")


def report(name: str, r: dict) -> None:
    print(
        f"{name}: {r['episodes']} episodes, {r['audio_s']:.0f} s of audio; faster-whisper {r['baseline_s']:.1f} s, "
        f"WER {r['baseline_wer']:.1%}; podsift scan {r['podsift_s']:.1f} s, WER {r['podsift_wer']:.1%}, peak "
        f"{r['podsift_mb']:.0f} MB: {r['baseline_s'] / r['podsift_s']:.2f}x",
        flush=True,
    )


if __name__ == "__main__":
    main()
