"""A copy of a real corpus as caption dumps publish it: every transcript without marks or capitals.

    python bench/unpunctuate.py CORPUS OUT

Each WebVTT cue keeps its times and speaker tag; its words lose the marks after them (full stops,
commas, question marks...) and their capitals, the way a lower-case caption dump or a long Whisper
run that stopped punctuating reads. Numbers keep their inner marks ("3.5", "20,000"). Everything
else (feed.json, the gold and noise labels) is copied as it is, so `bench/run.sh OUT` scores podsift
on the same episodes and labels, and the two runs compare how much the text's own punctuation mattered.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

TIMING = re.compile(r"^\d[\d:.]* --> ")
VOICE = re.compile(r"^(<v [^>]*>)?(.*)$")
MARKS = re.compile(r"(?<=\S)[.,;:!?…]+(?=[\"'”’)\]]*(\s|$))|(?<=\s)[\"“”]|^[\"“”]|[\"“”](?=\s|$)")


def strip_line(line: str) -> str:
    """A cue's text line without marks after its words or capitals; a voice tag is kept."""
    voice, text = VOICE.match(line).groups()
    return (voice or "") + MARKS.sub("", text).lower()


def strip_vtt(text: str) -> str:
    """A WebVTT file with every cue's text stripped; header, times and blank lines as they were."""
    out, in_cue = [], False
    for line in text.splitlines():
        if TIMING.match(line):
            in_cue = True
            out.append(line)
        elif not line.strip():
            in_cue = False
            out.append(line)
        else:
            out.append(strip_line(line) if in_cue else line)
    return "\n".join(out) + "\n"


def main(corpus: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for source in sorted(corpus.rglob("*")):
        target = out / source.relative_to(corpus)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif source.suffix == ".vtt":
            target.write_text(strip_vtt(source.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            shutil.copyfile(source, target)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
