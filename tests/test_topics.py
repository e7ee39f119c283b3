"""Topics: related insights across shows, named in their own words; running the show is never a topic."""

import numpy as np

from podsift.insights.topics import topics
from podsift.models import StoredInsight


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
    assert [t.name for t in found] == ["Glacier ice", "Buses"]  # phrases both insights say, not lists of terms


def test_housekeeping_and_insights_below_the_digest_floor_are_no_topic():
    found = topics(
        [
            insight(1, 1, [1, 0, 0], "If you enjoyed this episode, rate and review us wherever you listen."),
            insight(2, 2, [1, 0.1, 0], "Please rate the show and leave a review: it helps new listeners find us."),
            insight(3, 1, [0, 1, 0], "Tidal forces stretch the moon Io and heat its interior.", score=0.2),
            insight(4, 2, [0, 1, 0.1], "Io's volcanoes are heated by tidal forces from Jupiter.", score=0.25),
        ]
    )
    assert found == []


def test_a_phrase_every_insight_says_names_the_topic_over_a_word_only_one_says():
    found = topics(
        [
            insight(1, 1, [1, 0, 0], "An error budget lets a team ship as long as outages stay under it."),
            insight(2, 2, [1, 0.1, 0], "Teams that spend their error budget freeze releases until it recovers."),
            insight(3, 3, [0, 1, 0], "Sourdough rises slowly because wild yeast ferments at cooler temperatures."),
        ]
    )
    assert [t.name for t in found] == ["Error budget"]


def test_insights_close_in_embedding_but_with_no_phrase_most_of_them_say_are_no_topic():
    found = topics(
        [
            insight(1, 1, [1, 0, 0], "Glaciers flow downhill because ice deforms under its weight."),
            insight(2, 2, [1, 0.1, 0], "Sea levels rise as the oceans warm and expand."),
            insight(3, 3, [1, 0, 0.1], "Permafrost thaw releases methane that was locked in frozen soil."),
        ]
    )
    assert found == []
