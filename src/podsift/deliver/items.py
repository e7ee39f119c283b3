"""A digest's items, whichever digest carries them (the day's five, a topic's), and the rule that
makes one item of the same idea told twice."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import StoredInsight

SAME_IDEA = 0.6  # cosine above which two insights from different shows or days are one idea


@dataclass
class DigestItem:
    """One digest entry: an insight, and the same idea as heard on other shows."""

    insight: StoredInsight
    also: list[StoredInsight] = field(default_factory=list)


def told_before(sent, vector) -> bool:
    """Whether `vector` is the same idea (cosine at least SAME_IDEA) as a row of `sent`, the vectors
    of what the reader was sent before (none: an empty matrix, or None)."""
    return sent is not None and len(sent) > 0 and float((sent @ vector).max()) >= SAME_IDEA


def merge_same(items: list[DigestItem], candidate: StoredInsight) -> bool:
    """Whether an item already tells `candidate`'s idea (cosine at least SAME_IDEA); if it does and
    `candidate` is from another show, that show is named on the item (heard there too)."""
    same = next((item for item in items if float(item.insight.vector @ candidate.vector) >= SAME_IDEA), None)
    if same is None:
        return False
    if candidate.show_id != same.insight.show_id and all(a.show_id != candidate.show_id for a in same.also):
        same.also.append(candidate)
    return True
