"""What makes a passage worth sending, as numbers a small linear model can weigh.

Every feature is about form, not topic: specificity (numbers, named things, long words),
structure (cause, contrast, definition), and the marks of talk that is not an insight
(questions, hedges, fillers, first-person anecdote, ad and housekeeping language, the opening
and closing minutes, distance from what the episode is about). The word lists are generic
podcast language; nothing here names a show, topic or sponsor.

`Scorer` holds the weights (`data/scorer.json`, fitted by `scripts/train_scorer.py`) and turns
features into a score in 0..1 and the reasons behind it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np


def _words(*phrases: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.I)


# fmt: off
NUMBER = re.compile(
    r"\b(?:\d[\d,.]*|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|billion|half|twice|double|triple|percent|dozen)\b", re.I)
CAUSAL = _words(
    "because", "so that", "which means", "that means", "that's why", "the reason", "leads to", "causes?",
    "therefore", "as a result", "in turn", "which makes", "driven by", "due to", "thanks to", "results? in")
CONTRAST = _words(
    "but", "instead", "actually", "rather than", "whereas", "however", "the opposite", "myth", "not because",
    "people (?:assume|think|believe|say)", "turns out", "counter-?intuitive", "surprising(?:ly)?", "in fact",
    "even though", "only true if", "doesn't", "isn't")
DEFINITION = _words(
    "is called", "are called", "known as", "call(?:s|ed)? it", "is when", "works by", "happens when",
    "in other words", "the idea is", "the trick is", "the key is", "what's happening is", "is basically")
HEDGE = _words(
    "maybe", "i think", "i guess", "probably", "kind of", "sort of", "i feel like", "i'm not sure", "perhaps")
FILLER = _words("um+", "uh+", "you know", "i mean", "like,", "right, right", "yeah yeah")
FIRST_PERSON = _words("i", "i'm", "i've", "i'd", "me", "my", "mine")
AD = _words(
    "sponsor(?:ed)?", "promo", "code", "discount", "free trial", "percent off", "dot com", "slash", "supported by",
    "brought to you", "visit", "sign up", "order", "subscription", "offer", "first (?:box|month|order)", "shipping",
    "claims?", "the company says", "says (?:its|it)", "been using (?:one|it)")
HOUSEKEEPING = _words(
    "subscribe", "rate", "review", "this episode", "next week", "last week", "welcome (?:back )?to", "thanks for",
    "thank you", "listening", "show notes", "newsletter", "patreon", "link", "hiring", "see you", "our guest",
    "joining (?:me|us)", "today we", "on the show", "listener", "mailbag", "email us")
LAUGHTER = _words("haha", "ha", "hah", "lol", "joke", "kidding", "funny")
# fmt: on

NOISE_PROTOTYPES = [
    "This episode is supported by our sponsor. Use promo code SHOW for your first order free.",
    "If you enjoyed this episode, please rate and review us and subscribe wherever you listen.",
    "Welcome back to the show. I'm your host, and joining me today is my co-host.",
    "Thanks so much for listening. See you next week, take care.",
    "Ha, that's hilarious. Do you have a favorite one? I love that story.",
    "We got a listener email this week, and before we start, some quick housekeeping.",
]

# fmt: off
FEATURES = (
    "length", "in_range", "numbers", "causal", "contrast", "definition", "named", "long_words",
    "question", "hedge", "filler", "first_person", "ad", "housekeeping", "laughter",
    "opening", "closing", "topic", "central", "noise_like",
)
# fmt: on


@dataclass
class Context:
    """What a passage is compared with: its episode's subject, its centre, the marks of noise."""

    duration: float
    topic: np.ndarray  # embedding of the episode's title and show notes
    centroid: np.ndarray  # mean embedding of the episode's passages
    noise: np.ndarray  # embeddings of NOISE_PROTOTYPES


def features(text: str, quote: str, start: float, end: float, vector: np.ndarray, ctx: Context) -> dict[str, float]:
    """The feature values of one passage: `text` is its reader text, `quote` the words as spoken."""
    words = text.split()
    n = max(len(words), 1)

    def density(pattern: re.Pattern, source: str = text, per: int = 20) -> float:
        return min(len(pattern.findall(source)) * per / n, 1.0)

    capitals = sum(1 for i, w in enumerate(words) if i and w[:1].isupper() and words[i - 1][-1:] not in ".?!")
    sentences = max(len(re.findall(r"[.!?](?:\s|$)", text)), 1)
    return {
        "length": min(n / 80, 1.5),
        "in_range": float(25 <= n <= 80),
        "numbers": density(NUMBER),
        "causal": density(CAUSAL),
        "contrast": density(CONTRAST),
        "definition": density(DEFINITION, per=40),
        "named": min(capitals * 10 / n, 1.0),
        "long_words": sum(len(w.strip(".,;:!?")) >= 8 for w in words) / n,
        "question": text.count("?") / sentences,
        "hedge": density(HEDGE),
        "filler": density(FILLER, quote),
        "first_person": density(FIRST_PERSON, per=10),
        "ad": density(AD),
        "housekeeping": density(HOUSEKEEPING),
        "laughter": density(LAUGHTER, quote),
        "opening": float(start < max(0.06 * ctx.duration, 20.0)),
        "closing": float(end > ctx.duration - max(0.06 * ctx.duration, 20.0)),
        "topic": float(vector @ ctx.topic),
        "central": float(vector @ ctx.centroid),
        "noise_like": float((ctx.noise @ vector).max()),
    }


class Scorer:
    """A logistic model over `FEATURES`; weights from `data/scorer.json` unless given."""

    def __init__(self, weights: dict[str, float] | None = None, bias: float | None = None):
        if weights is None:
            fitted = json.loads((resources.files("podsift") / "data" / "scorer.json").read_text())
            weights, bias = fitted["weights"], fitted["bias"]
        self.weights = {name: float(weights.get(name, 0.0)) for name in FEATURES}
        self.bias = float(bias or 0.0)

    def score(self, values: dict[str, float]) -> float:
        """Probability-like score in 0..1."""
        z = self.bias + sum(self.weights[k] * values[k] for k in FEATURES)
        return 1 / (1 + math.exp(-z))

    def reasons(self, values: dict[str, float], top: int = 3) -> dict[str, list[str]]:
        """The features that raised the score most, and those that lowered it most."""
        parts = sorted(((self.weights[k] * values[k], k) for k in FEATURES), reverse=True)
        up = [f"{k} (+{c:.2f})" for c, k in parts[:top] if c > 0.05]
        down = [f"{k} ({c:.2f})" for c, k in reversed(parts[-top:]) if c < -0.05]
        return {"for": up, "against": down}
