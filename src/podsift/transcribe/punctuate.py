"""Punctuation and capitals for transcripts published without them.

Some publishers post caption dumps with no full stops, commas or capitals ("so the thing about
caching is it only helps when"). Sentences, passages and every reader check rest on punctuation,
so such a transcript would give one run-on passage per speaker turn. This stage puts it back
before sentences are split, and only for a transcript that needs it: words are never changed,
only the marks after them and the case of their first letter.

The model is an averaged perceptron over the words around each gap between two words (and the
pause between cues, where the transcript is timed), decided left to right so that it knows how
long the current sentence already is. Its weights and a table of the usual case of words
(`data/punctuation.json.gz`) are fitted by `scripts/train_punctuation.py` on published, punctuated
transcripts; see `docs/insights.md` for what it was trained on and how well it does.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

from ..models import Segment

LABELS = ("", ",", ".", "?")  # what follows a word: nothing, a comma, a full stop, a question mark
ENDS = (".", "?")  # the marks that end a sentence
MARKS = re.compile(r"[.,;:!?…]+[\"'”’)\]]*$")
EDGES = "\"'“”‘’()[]"
I_FORMS = ("i", "i'm", "i've", "i'll", "i'd")
MIN_WORDS = 60  # below this a transcript is too short to judge, and is left alone
NEAR = 30  # words: a publisher's full stop this close means the stretch around it is punctuated
WORDS_PER_STOP = 40  # fewer full stops than one per this many words: the transcript has no punctuation


@dataclass
class Gap:
    """What the model sees of the gap after one word."""

    words: list[str]  # bare lower-case words of the whole transcript
    index: int
    cue_end: bool
    pause: float | None  # seconds between this cue and the next, when the word ends a timed cue
    turn: bool  # the next word is another speaker's
    since: int  # words since the last full stop or question mark
    opener: str  # the first word of the current sentence


def bare(token: str) -> str:
    """A token without its punctuation, in lower case: what the model reads."""
    return MARKS.sub("", token.strip(EDGES)).strip(EDGES).lower()


def label_of(token: str) -> str:
    """The mark that follows a token in punctuated text, as one of LABELS."""
    token = token.rstrip(EDGES)
    if token.endswith("?"):
        return "?"
    if token.endswith((".", "!", "…")):
        return "."
    if token.endswith((",", ";", ":")):
        return ","
    return ""


def features(gap: Gap) -> list[str]:
    """The features of one gap: the words on both sides, alone and in pairs, and where it falls."""
    words, i = gap.words, gap.index
    before = words[i - 1] if i > 0 else "<s>"
    word = words[i]
    after = words[i + 1] if i + 1 < len(words) else "</s>"
    later = words[i + 2] if i + 2 < len(words) else "</s>"
    out = [
        "bias",
        "w0=" + word,
        "w1=" + after,
        "w-1=" + before,
        "w2=" + later,
        "w-1w0=" + before + "|" + word,
        "w0w1=" + word + "|" + after,
        "w1w2=" + after + "|" + later,
        "n=" + _bucket(gap.since, (1, 2, 3, 5, 8, 12, 18, 25, 35)),
        "s0=" + gap.opener,
        "s0w1=" + gap.opener + "|" + after,
    ]
    if gap.turn:
        out.append("turn")
    if gap.cue_end:
        out.append("cue_end")
        if gap.pause is not None:
            out.append("pause=" + _bucket(gap.pause, (0.05, 0.2, 0.4, 0.7, 1.2)))
    return out


def gap_after(
    segments: list[Segment], tokens: list[tuple[int, str]], words: list[str], i: int, since: int, opener: str
) -> Gap:
    """The gap after token i of a transcript, given as (cue number, token) pairs and bare words."""
    n = tokens[i][0]
    last_of_cue = i + 1 == len(tokens) or tokens[i + 1][0] != n
    following = segments[n + 1] if last_of_cue and n + 1 < len(segments) else None
    pause = following.start - segments[n].end if following else None
    turn = following is not None and following.speaker != segments[n].speaker
    return Gap(words, i, last_of_cue, pause, turn, since, opener or words[i])


def _bucket(value: float, bounds: tuple) -> str:
    for bound in bounds:
        if value <= bound:
            return f"<={bound}"
    return f">{bounds[-1]}"


class Punctuator:
    """The fitted model: weights per feature and label, each word's usual case, and the words
    after which a sentence never ends ("the", "of", "than")."""

    def __init__(self, weights: dict[str, list[float]], case: dict[str, str], never_ends: list[str] = ()):
        self.weights, self.case, self.never_ends = weights, case, frozenset(never_ends)

    @classmethod
    @lru_cache(maxsize=1)
    def shipped(cls) -> Punctuator:
        """The model that ships with podsift."""
        raw = (resources.files("podsift") / "data" / "punctuation.json.gz").read_bytes()
        fitted = json.loads(gzip.decompress(raw))
        return cls(fitted["weights"], fitted["case"], fitted["never_ends"])

    def decide(self, gap: Gap) -> str:
        """The mark the model puts after the gap's word."""
        totals = [0.0] * len(LABELS)
        for name in features(gap):
            for k, w in enumerate(self.weights.get(name, ())):
                totals[k] += w
        allowed = (0, 1) if gap.words[gap.index] in self.never_ends else range(len(LABELS))
        return LABELS[max(allowed, key=totals.__getitem__)]

    def restore(self, segments: list[Segment]) -> list[Segment]:
        """The cues with marks after their words and capitals where sentences start and names stand."""
        tokens = [(n, token) for n, seg in enumerate(segments) for token in seg.text.split()]
        words = [bare(token) for _, token in tokens]
        own = [label_of(token) for _, token in tokens]  # the publisher's marks, kept as they are
        cased = _has_capitals(token for _, token in tokens)
        kept = _punctuated_stretch([mark in ENDS for mark in own])
        out: list[list[str]] = [[] for _ in segments]
        since, opener, start = 0, "", True
        for i, (n, token) in enumerate(tokens):
            if own[i] or kept[i]:
                mark = own[i]
            else:
                mark = (
                    "." if i + 1 == len(tokens) else self.decide(gap_after(segments, tokens, words, i, since, opener))
                )
            text = self._cased(token, start, cased)
            out[n].append(text if own[i] or not mark else text + mark)
            opener = "" if mark in ENDS else (opener or words[i])
            since = 0 if mark in ENDS else since + 1
            start = mark in ENDS
        return [replace(seg, text=" ".join(parts)) for seg, parts in zip(segments, out, strict=True) if parts]

    def _cased(self, token: str, start: bool, cased: bool) -> str:
        if bare(token) in I_FORMS:
            return token.replace("i", "I", 1)
        if not cased and token.islower():
            token = self.case.get(bare(token), token)
        return token[:1].upper() + token[1:] if start else token


def _punctuated_stretch(ends: list[bool]) -> list[bool]:
    """For each word, whether the publisher's own marks cover it: a sentence end within NEAR words
    on either side. A transcript that lost its punctuation part of the way through (Whisper does,
    on long audio) keeps what it has, and only the rest is restored."""
    seen = [0]
    for end in ends:
        seen.append(seen[-1] + end)
    return [seen[min(len(ends), i + NEAR + 1)] - seen[max(0, i - NEAR)] > 0 for i in range(len(ends))]


def needs_punctuation(segments: list[Segment]) -> bool:
    """Whether a transcript was published without punctuation: long enough to tell, and with
    fewer full stops and question marks than one per WORDS_PER_STOP words."""
    tokens = [token for seg in segments for token in seg.text.split()]
    stops = sum(label_of(token) in ENDS for token in tokens)
    return len(tokens) >= MIN_WORDS and stops * WORDS_PER_STOP < len(tokens)


def _has_capitals(tokens) -> bool:
    """Whether the transcript keeps its capitals: more than one word in fifty starts with one
    (a caption dump in lower case has none but its "I"s)."""
    seen = capitals = 0
    for token in tokens:
        word = token.strip(EDGES)
        if word and word.lower() not in I_FORMS:
            seen += 1
            capitals += word[:1].isupper()
    return seen > 0 and capitals * 50 > seen


def punctuated(segments: list[Segment], model: Punctuator | None = None) -> list[Segment]:
    """The segments as they are if they carry punctuation, or with it restored if they do not."""
    if not needs_punctuation(segments):
        return segments
    return (model or Punctuator.shipped()).restore(segments)
