"""Topics: insights from any show and day gathered by meaning, each named as a person would name it.

Greedy clustering over the insights' unit vectors (best insights first; each joins the closest
topic whose centre is within JOIN cosine, else starts one). Only insights a digest could send are
clustered: scored at the digest's floor or above, and not about running the show (subscribe, rate
and review, sponsors: `features.HOUSEKEEPING`, `AD`, `SELF_PROMO`). A topic is named by a phrase of
its insights' own words, up to three content words in a row ("glacier ice", "error budgets"), that
more than half of them say and few other insights do: tf-idf over phrases, weighed up for a longer
phrase and for a name ("SQLite"); when two weigh the same, the longer, then the one said earlier in
the sentences, where English puts the subject. It is written as the insights write it. A lone
adverb or past form ("quickly", "released") names nothing; a cluster with no phrase that most of
its insights say is no topic. A topic is known by its first insight's id, so its address stays
put while new insights join it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..deliver.rank import MIN_SCORE
from ..models import StoredInsight
from .features import AD, FUNCTION, HOUSEKEEPING, SELF_PROMO

JOIN = 0.55  # measured on real-dev's insights: at 0.45 one "topic" held 15 insights on as many subjects
STOPWORDS = set(
    """about above after again against because been before being below between both could does doing down
    during each from further have having here itself just more most much other over same should some such
    than that their theirs them then there these they this those through under until very what when where
    which while will with would your yours into only also like even ever every really still thing things
    something someone people going actually basically pretty quite kind sort maybe right yeah okay well lot lots
    dont didnt doesnt isnt wasnt arent theyre youre thats whats heres theres""".split()
)


@dataclass
class Topic:
    """Related insights, best first, named by their key terms."""

    insights: list[StoredInsight] = field(default_factory=list)
    name: str = ""

    @property
    def id(self) -> int:
        return self.insights[0].id

    @property
    def shows(self) -> set[str]:
        return {i.show_title for i in self.insights}


def topics(insights: list[StoredInsight], min_size: int = 2) -> list[Topic]:
    """Topics of at least `min_size` insights, largest first."""
    sendable = [i for i in insights if i.vector is not None and i.score >= MIN_SCORE and not _about_the_show(i.text)]
    found: list[tuple[Topic, np.ndarray]] = []
    for insight in sorted(sendable, key=lambda i: -i.score):
        best = max(found, key=lambda tc: _cosine(tc[1], insight.vector), default=None)
        if best is not None and _cosine(best[1], insight.vector) >= JOIN:
            best[0].insights.append(insight)
            best[1][:] += insight.vector
        else:
            found.append((Topic([insight]), insight.vector.astype(np.float32).copy()))
    kept = [t for t, _ in found if len(t.insights) >= min_size]
    everywhere = Counter(p for i in sendable for p in set(_phrases(i.text)))
    for topic in kept:
        topic.name = _name(topic, everywhere, len(sendable))
    return sorted((t for t in kept if t.name), key=lambda t: (-len(t.insights), t.id))


def _about_the_show(text: str) -> bool:
    return any(pattern.search(text) for pattern in (HOUSEKEEPING, AD, SELF_PROMO))


def _cosine(centre: np.ndarray, vector: np.ndarray) -> float:
    return float(centre @ vector) / float(np.linalg.norm(centre))


def _phrases(text: str, longest: int = 3) -> dict[str, tuple[str, bool]]:
    """Each run of up to `longest` content words, lower-cased: the first way the text writes it,
    and whether it is ever written as a name (a capital past a sentence's first word: "SQLite")."""
    found: dict[str, tuple[str, bool]] = {}
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        for run_start, run in _runs(sentence):
            for start in range(len(run)):
                for end in range(start + 1, min(start + longest, len(run)) + 1):
                    words = run[start:end]
                    if any(_filler(w) for w in words) or (len(words) == 1 and _not_a_subject(words[0])):
                        break
                    named = any(w[0].isupper() or any(c.isupper() for c in w[1:]) for w in words)
                    named = named and not (run_start == 0 and start == 0 and not any(c.isupper() for c in words[0][1:]))
                    key, written = " ".join(words).lower(), " ".join(words)
                    found[key] = (found.get(key, (written, False))[0], found.get(key, ("", False))[1] or named)
    return found


def _runs(sentence: str) -> list[tuple[int, list[str]]]:
    """The stretches of a sentence between punctuation, each with the place of its first word."""
    runs, place = [], 0
    for part in re.split(r"[^\w'\- ]+", sentence):
        words = part.split()
        runs.append((place, words))
        place += len(words)
    return runs


def _filler(word: str) -> bool:
    bare = word.lower().strip("'-")
    return len(bare) < 3 or bare in STOPWORDS or bare in FUNCTION or not bare[0].isalpha() or "'" in bare


def _not_a_subject(word: str) -> bool:
    """Alone, an adverb or a past form ("quickly", "released") names nothing a person would follow."""
    return word.lower().endswith(("ly", "ed"))


def _name(topic: Topic, everywhere: Counter, total: int) -> str:
    said: dict[str, str] = {}
    named: set[str] = set()
    inside: Counter = Counter()
    for insight in topic.insights:
        phrases = _phrases(insight.text)
        inside.update(phrases.keys())
        for key, (written, is_name) in phrases.items():
            said.setdefault(key, written)
            if is_name:
                named.add(key)
    shared = [p for p, n in inside.items() if n > len(topic.insights) / 2]
    if not shared:
        return ""  # nothing most of them say: not one subject, whatever their embeddings

    def place(phrase: str) -> float:  # how early the insights say it: a sentence's subject comes first
        spots = [i.text.lower().find(phrase) / max(len(i.text), 1) for i in topic.insights]
        return sum(spot for spot in spots if spot >= 0) / max(sum(spot >= 0 for spot in spots), 1)

    def weight(phrase: str) -> tuple:
        idf = math.log((1 + total) / (1 + everywhere[phrase]))
        longer = 1 + 0.5 * phrase.count(" ")
        return (
            round(inside[phrase] * idf * longer * (1.5 if phrase in named else 1), 6),
            phrase.count(" "),
            -place(phrase),
        )

    written = said[max(shared, key=weight)]
    return written[0].upper() + written[1:]
