"""Topics: insights from any show and day gathered by meaning, each named by its key terms.

Greedy clustering over the insights' unit vectors (best insights first; each joins the closest
topic whose centre is within JOIN cosine, else starts one), then a name from the words that are
frequent in the topic and rare across all insights (tf-idf). A topic is known by its first
insight's id, so its address stays put while new insights join it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .models import StoredInsight

JOIN = 0.45
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
    found: list[tuple[Topic, np.ndarray]] = []
    for insight in sorted((i for i in insights if i.vector is not None), key=lambda i: -i.score):
        best = max(found, key=lambda tc: _cosine(tc[1], insight.vector), default=None)
        if best is not None and _cosine(best[1], insight.vector) >= JOIN:
            best[0].insights.append(insight)
            best[1][:] += insight.vector
        else:
            found.append((Topic([insight]), insight.vector.astype(np.float32).copy()))
    kept = [t for t, _ in found if len(t.insights) >= min_size]
    document_frequency = Counter(w for i in insights for w in set(_words(i.text)))
    for topic in kept:
        topic.name = _name(topic, document_frequency, len(insights))
    return sorted(kept, key=lambda t: (-len(t.insights), t.id))


def _cosine(centre: np.ndarray, vector: np.ndarray) -> float:
    return float(centre @ vector) / float(np.linalg.norm(centre))


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z']{3,}", text.lower().replace("'", "")) if w not in STOPWORDS]


def _name(topic: Topic, document_frequency: Counter, total: int, terms: int = 3) -> str:
    counts = Counter(w for i in topic.insights for w in _words(i.text))
    weight = {w: n * math.log((1 + total) / (1 + document_frequency[w])) for w, n in counts.items() if n > 1}
    best = sorted(weight, key=lambda w: (-weight[w], w))[:terms]
    return ", ".join(best) if best else topic.insights[0].text.split(".")[0][:60]
