"""What makes a passage worth sending, as numbers a small linear model can weigh.

Every feature is about form, not topic: specificity (numbers, named things, long words),
structure (cause, contrast, definition), and the marks of talk that is not an insight
(hedges, fillers, first-person anecdote, ad, self-promotion and housekeeping language, the opening
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
# The words of a host-read or network ad: the calls to action and disclosures of the IAB's podcast
# ad formats and of the FTC's endorsement guides ("sponsored", "brought to you by", "use code").
AD = _words(
    "sponsor(?:s|ed|ship)?", "ads?", "advertis\\w*", "promo", "(?:use|offer|promo) code", "discount", "free trial",
    "percent off", "dot com", "slash", "supported by", "brought to you", "visit", "sign up", "go to",
    "head (?:over )?to", "first (?:month|order|purchase)", "limited time", "money-back", "guarantee", "terms apply")
# A show selling itself or asking for support: memberships, patrons, courses, merch, its other media.
SELF_PROMO = _words(
    "patreon", "patrons?", "donat\\w*", "support (?:the|this|our) (?:show|podcast|work)", "members(?:hip)?",
    "become a", "premium", "ad-free", "merch\\w*", "t-shirts?", "stickers?", "courses?",
    "our (?:book|newsletter|discord)", "community", "bonus episodes?", "early access")
# Running the show: greetings, sign-offs, the episode itself, where to find and follow it.
HOUSEKEEPING = _words(
    "subscribe", "rate", "review", "this episode", "episode \\d+", "next week", "last week", "welcome (?:back )?to",
    "thanks for", "thank you", "listening", "show notes", "newsletter", "link", "hiring", "see you", "our guest",
    "joining (?:me|us)", "today we", "on the show", "listeners?", "email us", "write in", "follow us",
    "socials?", "recorded", "housekeeping", "before we (?:start|begin|get)", "let's get (?:started|into)")
LAUGHTER = _words("haha", "ha", "hah", "lol", "joke", "kidding", "funny")
# English function words (after the stop list of Salton's SMART system, abridged): what is left is
# the passage's content, and an insight carries more of it than chat does.
FUNCTION = frozenset(
    "a about after again all also am an and any are as at be been being but by can could did do does doing "
    "don't down for from get got had has have having he her here him his how i i'm if in into is it it's its "
    "just know like me more most my no not now of off oh ok okay on one only or other our out over really right "
    "said say says see she so some such than that that's the their them then there they they're thing things "
    "think this those to too up us very was way we we're well were what when where which who why will with "
    "would yeah yes you you're your".split())
# fmt: on

# What noise sounds like, one written example of each kind (ad, self-promotion, intro, outro,
# housekeeping, banter), in general podcast language: a passage close to one of them is noise.
NOISE_PROTOTYPES = [
    "This episode is brought to you by our sponsor. Go to their website and use our code for a discount.",
    "Support the show: become a member on Patreon, buy the merch or take one of our courses. Links are below.",
    "Welcome to the show. I'm your host, and today I'm joined by a guest to talk about this week's news.",
    "That's all for this episode. Thanks for listening, please subscribe and leave a review. See you next week.",
    "Before we start, some housekeeping: we record live, follow us on social media and send us your questions.",
    "Ha, that's so funny, I love that. Yeah, totally. Oh man, good times, good times.",
]

# fmt: off
FEATURES = (
    "numbers", "causal", "contrast", "definition", "named", "long_words", "content",
    "hedge", "filler", "first_person", "ad", "self_promo", "housekeeping", "laughter",
    "opening", "closing", "topic", "central", "noise_like", "insight_like", "subject",
)
# fmt: on


@dataclass
class Context:
    """What a passage is compared with: its episode's subject, its centre, the marks of noise."""

    duration: float
    topic: np.ndarray  # embedding of the episode's title and show notes
    centroid: np.ndarray  # mean embedding of the episode's passages
    noise: np.ndarray  # embeddings of NOISE_PROTOTYPES
    insight: np.ndarray | None = None  # `Scorer.direction`: where the passages editors pick lie
    subjects: np.ndarray | None = None  # embeddings of the subjects the show notes list


def features(text: str, quote: str, start: float, end: float, vector: np.ndarray, ctx: Context) -> dict[str, float]:
    """The feature values of one passage: `text` is its reader text, `quote` the words as spoken."""
    words = text.split()
    n = max(len(words), 1)

    def density(pattern: re.Pattern, source: str = text, per: int = 20) -> float:
        return min(len(pattern.findall(source)) * per / n, 1.0)

    bare = [w.strip(".,;:!?\"'()").lower() for w in words]
    return {
        "numbers": density(NUMBER),
        "causal": density(CAUSAL),
        "contrast": density(CONTRAST),
        "definition": density(DEFINITION, per=40),
        "named": min(_names(words) * 10 / n, 1.0),
        "long_words": sum(len(w) >= 8 for w in bare) / n,
        "content": sum(w not in FUNCTION for w in bare) / n,
        "hedge": density(HEDGE),
        "filler": density(FILLER, quote),
        "first_person": density(FIRST_PERSON, per=10),
        "ad": density(AD),
        "self_promo": density(SELF_PROMO),
        "housekeeping": density(HOUSEKEEPING),
        "laughter": density(LAUGHTER, quote),
        "opening": float(start < _edge(ctx.duration)),
        "closing": float(end > ctx.duration - _edge(ctx.duration)),
        "topic": float(vector @ ctx.topic),
        "central": float(vector @ ctx.centroid),
        "noise_like": float((ctx.noise @ vector).max()),
        "insight_like": float(vector @ ctx.insight) if ctx.insight is not None else 0.0,
        "subject": float((ctx.subjects @ vector).max()) if ctx.subjects is not None and len(ctx.subjects) else 0.0,
    }


def _edge(duration: float) -> float:
    """Seconds at each end of an episode where intros and sign-offs are: 6% of it, at least 20 s,
    but never more than a tenth, so that a one-minute episode is not all intro and outro."""
    return min(max(0.06 * duration, 20.0), 0.1 * duration)


def _names(words: list[str]) -> int:
    """Capitalised words that do not open a sentence and are not "I": the named things of a passage."""
    return sum(
        1
        for i, w in enumerate(words)
        if i and w[:1].isupper() and words[i - 1][-1:] not in ".?!" and not re.fullmatch(r"I(?:'[a-z]+)?[.,;:!?]*", w)
    )


class Scorer:
    """A logistic model over `FEATURES`; weights from `data/scorer.json` unless given.

    `direction` is a unit vector in the embedding space (all-MiniLM-L6-v2's), fitted with the
    weights: the passages editors pick lie along it, whatever their subject. A passage's
    `insight_like` feature is its cosine to it; without one the feature is 0."""

    def __init__(
        self, weights: dict[str, float] | None = None, bias: float | None = None, direction: np.ndarray | None = None
    ):
        if weights is None:
            fitted = json.loads((resources.files("podsift") / "data" / "scorer.json").read_text())
            weights, bias = fitted["weights"], fitted["bias"]
            direction = np.asarray(fitted["direction"], dtype=np.float32) if "direction" in fitted else None
        self.weights = {name: float(weights.get(name, 0.0)) for name in FEATURES}
        self.bias = float(bias or 0.0)
        self.direction = direction

    def score(self, values: dict[str, float]) -> float:
        """The chance, as fitted on the labelled corpora, that an editor would pick this passage."""
        z = self.bias + sum(self.weights[k] * values[k] for k in FEATURES)
        return 1 / (1 + math.exp(-z))

    def reasons(self, values: dict[str, float], top: int = 3) -> dict[str, list[str]]:
        """The features that raised the score most, and those that lowered it most."""
        parts = sorted(((self.weights[k] * values[k], k) for k in FEATURES), reverse=True)
        up = [f"{k} (+{c:.2f})" for c, k in parts[:top] if c > 0.05]
        down = [f"{k} ({c:.2f})" for c, k in reversed(parts[-top:]) if c < -0.05]
        return {"for": up, "against": down}
