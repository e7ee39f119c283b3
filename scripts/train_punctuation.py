"""Fit the punctuation model of `podsift.transcribe.punctuate` and measure it on transcripts it did not see.

    python scripts/train_punctuation.py [--train DIR ...] [--check CORPUS] [--write]

Training text: published, punctuated WebVTT transcripts whose licence allows it. By default the
22 Python Bytes transcripts of `../shared/data/python_bytes` and the two Bitcoin, Explained ones of
real-dev, both MIT-licensed (other real-dev shows are CC BY-SA or unstated, and are only checked on).
Each word's label is the mark that follows it; the model learns to put it back from the bare,
lower-case words and the cue timing.

The check strips every mark and capital from each transcript of a real corpus (`--check`, by default
`../shared/bench/corpus/real-dev`), restores them, and reports precision and recall of sentence ends
(full stops and question marks, counted alike) and of commas, per show, beside the simple rule
"a sentence ends where a cue ends". Shows the model was trained on are marked; the rest are unseen.
A transcript that was published without punctuation is skipped: it has nothing to check against.
`--write` saves the fitted model to src/podsift/data.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import random
import sys
from pathlib import Path

from podsift.models import Segment
from podsift.parsers.transcript import parse_transcript
from podsift.transcribe.punctuate import (
    ENDS,
    I_FORMS,
    LABELS,
    Gap,
    Punctuator,
    bare,
    features,
    gap_after,
    label_of,
    needs_punctuation,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OUT = ROOT / "src" / "podsift" / "data" / "punctuation.json.gz"
EPOCHS = 6
MIN_CASE_COUNT = 3
MIN_TITLE_COUNT = 12
MIN_NEVER_COUNT, NEVER_SHARE = 30, 0.02
# Added to the full stop's bias: the perceptron, fitted on one show's short cues, ends too few
# sentences elsewhere (precision 0.81, recall 0.52 on the unseen real-dev shows, measured before the
# never-ending words were added). With 2 they are 0.77 / 0.58; 4 finds a few more (0.73 / 0.62)
# at the price of fragments such as "Once." in the text.
END_BIAS = 2.0
DEFAULT_TRAIN = [SHARED / "data" / "python_bytes", SHARED / "bench" / "corpus" / "real-dev" / "bitcoin-explained"]


def cues(path: Path) -> list[Segment]:
    """A VTT file's cues, as podsift parses them."""
    return parse_transcript(path.read_bytes(), "text/vtt").segments


def gaps(segments: list[Segment]) -> tuple[list[Gap], list[str]]:
    """Every gap of a punctuated transcript with its true label (history from the truth)."""
    tokens = [(n, token) for n, seg in enumerate(segments) for token in seg.text.split()]
    words = [bare(token) for _, token in tokens]
    out, labels, since, opener = [], [], 0, ""
    for i, (_, token) in enumerate(tokens[:-1]):
        out.append(gap_after(segments, tokens, words, i, since, opener))
        label = label_of(token)
        labels.append(label)
        opener = "" if label in ENDS else (opener or words[i])
        since = 0 if label in ENDS else since + 1
    return out, labels


def fit(transcripts: list[list[Segment]], seed: int = 0) -> dict[str, list[float]]:
    """Averaged perceptron weights, one list of len(LABELS) per feature."""
    examples = [(features(g), LABELS.index(y)) for t in transcripts for g, y in zip(*gaps(t), strict=True)]
    weights: dict[str, list[float]] = collections.defaultdict(lambda: [0.0] * len(LABELS))
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0.0] * len(LABELS))
    stamps: dict[str, list[int]] = collections.defaultdict(lambda: [0] * len(LABELS))
    step, rng = 0, random.Random(seed)
    for _ in range(EPOCHS):
        rng.shuffle(examples)
        for names, truth in examples:
            step += 1
            scores = [sum(weights[f][k] for f in names if f in weights) for k in range(len(LABELS))]
            guess = max(range(len(LABELS)), key=scores.__getitem__)
            if guess == truth:
                continue
            for f in names:
                for k, delta in ((truth, 1.0), (guess, -1.0)):
                    totals[f][k] += (step - stamps[f][k]) * weights[f][k]
                    stamps[f][k] = step
                    weights[f][k] += delta
    averaged = {"bias": [0.0] * len(LABELS)}
    for f, w in weights.items():
        avg = [(totals[f][k] + (step - stamps[f][k]) * w[k]) / step for k in range(len(LABELS))]
        if max(abs(x) for x in avg) >= 0.005:  # features that never mattered are left out of the file
            averaged[f] = [round(x, 3) for x in avg]
    averaged["bias"][LABELS.index(".")] += END_BIAS
    return averaged


def case_table(transcripts: list[list[Segment]]) -> dict[str, str]:
    """Each word's written form where it is nearly always the same and not lower case ("github" ->
    "GitHub"), counted away from sentence starts, where every word has a capital. ("I" is a rule of
    `punctuate`, not data.)"""
    forms: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for segments in transcripts:
        tokens = [token for seg in segments for token in seg.text.split()]
        for before, token in zip(tokens, tokens[1:], strict=False):
            if label_of(before) not in ENDS:
                word = bare(token)
                surface = token.strip("\"'“”‘’()[]").rstrip(".,;:!?…")
                if word and surface.lower() == word:
                    forms[word][surface] += 1
    table = {}
    for word, counts in forms.items():
        surface, n = counts.most_common(1)[0]
        # Almost never written in lower case; and a plain capitalised word ("Notion", "Bay") only
        # when it is frequent, since a rare one in tech talk is as often an English word elsewhere.
        plain = surface == word.capitalize()
        often = n >= (MIN_TITLE_COUNT if plain else MIN_CASE_COUNT)
        if surface != word and word not in I_FORMS and often and n >= 0.95 * sum(counts.values()):
            table[word] = surface
    return table


def never_ends(transcripts: list[list[Segment]]) -> list[str]:
    """Words after which a sentence (almost) never ends: "the", "of", "than"... A cue that ends on
    one is cut in mid-sentence whatever the pause, and the perceptron alone, for all its word
    features, is swayed by the cue end."""
    seen, ended = collections.Counter(), collections.Counter()
    for segments in transcripts:
        for token in (t for seg in segments for t in seg.text.split()):
            seen[bare(token)] += 1
            ended[bare(token)] += label_of(token) in ENDS
    return sorted(w for w, n in seen.items() if n >= MIN_NEVER_COUNT and ended[w] <= NEVER_SHARE * n)


def stripped(segments: list[Segment]) -> list[Segment]:
    """A transcript as a caption dump publishes it: no marks after words, no capitals."""
    out = []
    for seg in segments:
        words = [bare(t) if label_of(t) else t.lower() for t in seg.text.split()]
        out.append(Segment(seg.start, seg.end, " ".join(w for w in words if w), seg.speaker))
    return out


def marks(segments: list[Segment]) -> list[str]:
    """The label after every word but the last, for the words that survive stripping."""
    return [label_of(t) for seg in segments for t in seg.text.split() if bare(t)][:-1]


def bare_text(text: str) -> str:
    """A cue's words as the model reads them."""
    return " ".join(w for w in map(bare, text.split()) if w)


def check(model: Punctuator, corpus: Path, trained: set[Path]) -> None:
    """Precision and recall of restored sentence ends and commas, per show, beside the cue-end rule."""
    print(f"{'show':36} {'words':>6}  {'ends P/R/F1':>16}  {'cue-end rule':>16}  {'commas P/R':>10}")
    for show in sorted(p for p in corpus.iterdir() if p.is_dir() and any(p.glob("*.vtt"))):
        counts = collections.Counter()
        for vtt in sorted(show.glob("*.vtt")):
            original = [s for s in cues(vtt) if bare_text(s.text)]
            if needs_punctuation(original):
                continue
            dump = stripped(original)
            truth, guess = marks(original), marks(model.restore(dump))
            rule = [("." if k + 1 == len(seg.text.split()) else "") for seg in dump
                    for k, _ in enumerate(seg.text.split())][:-1]  # fmt: skip
            for t, g, r in zip(truth, guess, rule, strict=True):
                counts["words"] += 1
                end_t, end_g, end_r = t in ENDS, g in ENDS, r == "."
                counts["tp"] += end_t and end_g
                counts["fp"] += end_g and not end_t
                counts["fn"] += end_t and not end_g
                counts["rtp"] += end_t and end_r
                counts["rfp"] += end_r and not end_t
                counts["rfn"] += end_t and not end_r
                counts["ctp"] += t == "," and g == ","
                counts["cfp"] += g == "," and t != ","
                counts["cfn"] += t == "," and g != ","
        name = show.name + (" (trained on)" if show.resolve() in trained else "")
        print(f"{name:36} {counts['words']:>6}  {_prf(counts, '')}  {_prf(counts, 'r')}  {_prf(counts, 'c', f1=False)}")


def _prf(c: collections.Counter, k: str, f1: bool = True) -> str:
    p = c[k + "tp"] / max(1, c[k + "tp"] + c[k + "fp"])
    r = c[k + "tp"] / max(1, c[k + "tp"] + c[k + "fn"])
    f = 2 * p * r / max(1e-9, p + r)
    return f"{p:.2f}/{r:.2f}/{f:.2f}" if f1 else f"{p:.2f}/{r:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, action="append", help="a folder of punctuated .vtt files")
    parser.add_argument("--check", type=Path, default=SHARED / "bench" / "corpus" / "real-dev")
    parser.add_argument("--write", action="store_true", help=f"save the model to {OUT.relative_to(ROOT)}")
    args = parser.parse_args()
    folders = [d.resolve() for d in args.train or DEFAULT_TRAIN]
    files = sorted(p for d in folders for p in d.glob("**/*.vtt"))
    transcripts = [cues(p) for p in files]
    print(f"training on {len(files)} transcripts, {sum(len(marks(t)) for t in transcripts)} words", file=sys.stderr)
    model = Punctuator(fit(transcripts), case_table(transcripts), never_ends(transcripts))
    sizes = f"{len(model.weights)} features, {len(model.case)} cased words, {len(model.never_ends)} never-ending"
    print(sizes, file=sys.stderr)
    check(model, args.check, {f.parent for f in files} | set(folders))
    if args.write:
        fitted = {"weights": model.weights, "case": model.case, "never_ends": sorted(model.never_ends)}
        blob = json.dumps(fitted, separators=(",", ":"), sort_keys=True)
        OUT.write_bytes(gzip.compress(blob.encode(), mtime=0))
        print(f"wrote {OUT} ({OUT.stat().st_size // 1000} KB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
