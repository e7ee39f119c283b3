"""Coverage-guided fuzzing of the parsers that read strangers' bytes, with atheris (libFuzzer).

    pip install -e '.[fuzz]'
    python scripts/fuzz.py feed --seconds 600        # or opml, vtt, srt, json, html, all

Each target checks the same invariants as the property-based tests (tests/fuzz_targets.py): a
result that keeps podsift's promises or a ParseError, never another exception; libFuzzer's
-timeout and -rss_limit_mb stop an input that is slow or hungry. Runs start from the real feeds
and transcripts in ../shared/data, when that folder is there. A crash leaves its input in
crash-*; add it to the tests as a regression case.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = {  # folders of ../shared/data to start from
    "feed": ["feeds"],
    "opml": ["feeds"],
    "vtt": ["python_bytes"],
    "srt": ["python_bytes"],
    "json": ["python_bytes"],
    "html": ["python_bytes", "changelog"],
}


def seed_corpus(target: str, folder: Path) -> Path:
    """Small real documents for `target` copied into `folder` (libFuzzer mutates from these)."""
    data = REPO.parent / "shared" / "data"
    for name in SEEDS[target]:
        for n, path in enumerate(sorted((data / name).rglob("*"))):
            if path.is_file() and path.name != "SOURCES.md" and path.stat().st_size < 200_000:
                (folder / f"{n}{path.suffix}").write_bytes(path.read_bytes())
    return folder


def fuzz(target: str, seconds: int) -> None:
    import atheris

    sys.path.insert(0, str(REPO / "tests"))
    with atheris.instrument_imports():
        from fuzz_targets import TARGETS
    check = TARGETS[target]
    with tempfile.TemporaryDirectory() as corpus:
        args = [sys.argv[0], f"-max_total_time={seconds}", "-timeout=5", "-rss_limit_mb=1024", "-print_final_stats=1"]
        atheris.Setup(args + [str(seed_corpus(target, Path(corpus)))], check)
        atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=[*SEEDS, "all"])
    parser.add_argument("--seconds", type=int, default=300, help="how long to fuzz each target")
    options = parser.parse_args()
    if options.target == "all":  # one process per target: libFuzzer runs once per process
        for target in SEEDS:
            print(f"== {target}", flush=True)
            subprocess.run([sys.executable, __file__, target, "--seconds", str(options.seconds)], check=True)
        return
    fuzz(options.target, options.seconds)


if __name__ == "__main__":
    main()
