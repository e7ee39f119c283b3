"""Topics: related insights across shows, named by their key terms."""

import numpy as np

from podsift.models import StoredInsight
from podsift.topics import topics


def insight(id, show, vector, text, score=0.8):
    v = np.asarray(vector, dtype=np.float32)
    return StoredInsight(
        id, id, 1, text, text, 0.0, 10.0, score, {}, v / np.linalg.norm(v), f"g{id}", "ep", "a", show, f"Show {show}"
    )


def test_related_insights_from_different_shows_form_one_named_topic():
    found = topics(
        [
            insight(1, 1, [1, 0.1, 0], "Glaciers flow downhill because glacier ice deforms under its weight."),
            insight(2, 2, [1, 0, 0.2], "A glacier front retreats when melting outpaces the flow of glacier ice.", 0.7),
            insight(3, 3, [0, 1, 0.1], "Buses bunch because a late bus collects more riders at every stop."),
            insight(4, 1, [0.1, 1, 0], "Holding early buses at a stop evens out the gaps so buses stop bunching.", 0.6),
            insight(5, 2, [0, 0, 1], "Salt barely changes the boiling point of pasta water."),
        ]
    )
    assert [[i.id for i in t.insights] for t in found] == [[1, 2], [3, 4]]  # the lone insight is no topic
    assert found[0].shows == {"Show 1", "Show 2"} and found[0].id == 1
    assert "glacier" in found[0].name and "buses" in found[1].name
