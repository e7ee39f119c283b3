"""The text a reader sees: faithful to what was said, and standing alone as an editor would send it.

The spoken sentences here are written for these tests in the manner of real transcripts (fillers,
stutters, captioners' markers, cue splits); none is taken from a benchmark corpus."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podsift.insights.clean import NUMBERS, clean_sentence, faithful, faults, reader_text
from podsift.insights.extract import Extractor
from podsift.models import Segment


@pytest.mark.parametrize(
    "spoken",
    [
        "They raised $500,000,000 in the round.",
        "The list had 20,000,000 entries, 20,000,000, yes.",
        "It cost $5.5 million, so, um, $5.5 million.",
        "Version 3.13.1 fixed it, and 3.13.2 broke it again.",
        "The 10 10 rule is a trading rule.",
    ],
)
def test_cleaning_never_changes_a_number(spoken):
    read = clean_sentence(spoken)
    assert NUMBERS.findall(read) == NUMBERS.findall(spoken), read


@pytest.mark.parametrize(
    "spoken,read",
    [
        ("No company does this at scale.", "No company does this at scale."),  # "No" here is a negation
        ("Well-known tools fail too.", "Well-known tools fail too."),
        ("Do you know the answer?", "Do you know the answer?"),  # "you know" that means something stays
        ("I mean it when I say the cache is cold.", "I mean it when I say the cache is cold."),
        ("A tool like grep, you know, works.", "A tool like grep works."),
        ("We're we're going [inaudible 00:28:05] home (laughs) now.", "We're going home now."),
        ("I think I think the build is slow.", "I think the build is slow."),
        ("So, um, the the system itself is, uh, unstable.", "The system itself is unstable."),
        ("Because the cache is cold, requests are slow.", "Because the cache is cold, requests are slow."),
    ],
)
def test_cleaning_keeps_meaning_and_takes_out_noise(spoken, read):
    assert clean_sentence(spoken) == read


NUMBER = st.one_of(
    st.integers(0, 10**12).map(lambda n: f"{n:,}"),
    st.integers(0, 999).map(str),
    st.floats(0, 1000, allow_nan=False).map(lambda x: f"{x:.1f}"),
    st.integers(1, 99).map(lambda n: f"${n}.5 million"),
)
SPOKEN_WORD = st.sampled_from(
    [
        "um",
        "uh",
        "the",
        "the the",
        "so",
        "yeah,",
        "you know,",
        "like,",
        "no",
        "not",
        "never",
        "isn't",
        "well,",
        "I mean,",
        "[laughter]",
        "(laughs)",
        "we",
        "we we",
        "and",
        "but",
        "cache",
        "users",
        "percent",
        ",",
        ".",
    ]
)


@given(st.lists(st.one_of(NUMBER, SPOKEN_WORD), min_size=1, max_size=30))
def test_reader_text_keeps_every_number_and_negation_of_what_was_said(words):
    spoken = " ".join(words)
    assert faithful(reader_text([spoken]), spoken.replace("[laughter]", "").replace("(laughs)", ""))


@pytest.mark.parametrize(
    "text,fault",
    [
        (
            "What makes a cache fast? Locality of reference, mostly, and a small working set of keys.",
            "opens on a question",
        ),
        ("People worry about that. The real risk is a slow leak of memory over weeks of uptime.", "points back"),
        ("Instead, the team wrote the parser by hand and it ran four times faster than before.", "points back"),
        ("It ran four times faster once the team wrote the parser by hand and dropped the generator.", "points back"),
        (
            "The team wrote the parser by hand. Did it help? It ran four times faster than the old one.",
            "asks a question",
        ),
        (
            "the team wrote the parser by hand and it ran four times faster than the generated one did on every "
            "input we tried across the whole test suite that we keep for the releases",
            "runs on",
        ),
        (
            "The team wrote the parser by hand and it ran four times faster than the generated one. Twenty-nine.",
            "ends on a fragment",
        ),
        ("The team wrote the parser by hand and it ran four times faster, you know.", "filler"),
        (
            "The parser ran 45 45 times faster after the rewrite by hand, which nobody on the team expected.",
            "stutter or marker",
        ),
        ("The parser ran four times faster It was written by hand by the team over a single weekend.", "runs on"),
        (
            "We covered that earlier. A parser written by hand skips the generic error recovery of generated ones.",
            "points back",
        ),
        (
            "You don't need the-- if a generated parser is slow, a parser written by hand can be four times faster.",
            "broken off",
        ),
        (
            "In my example earlier, one hash was worth ten newer hashes, so banks bundled them into equal buckets.",
            "points back",
        ),
        (
            "Module level side effects break under lazy imports. Class creation side effects may depend on.",
            "unfinished",
        ),
    ],
)
def test_what_an_editor_would_not_send_is_named(text, fault):
    assert fault in faults(text)


def test_a_closing_quotation_keeps_its_full_stop_inside():
    assert reader_text(['The rule is "measure first."', "Then change the code"]) == (
        'The rule is "measure first." Then change the code.'
    )


@pytest.mark.parametrize(
    "opening",
    ["You just mark the test as a benchmark.", "Flour has two proteins.", "Most readers picked the longer one."],
)
def test_a_short_opening_sentence_with_a_verb_is_not_a_fragment(opening):
    text = f"{opening} The rest of the passage explains what follows from it, in a sentence of its own."
    assert "points back" not in faults(text)


def test_a_passage_that_stands_alone_has_no_fault():
    text = (
        "A hand-written parser ran four times faster than the generated one, because it skipped the generic "
        "error recovery that the generator adds to every rule."
    )
    assert faults(text) == []


def segments(*turns):
    """Sentence segments from (speaker, text) pairs, five seconds each."""
    return [Segment(i * 5.0, i * 5.0 + 5.0, text, speaker) for i, (speaker, text) in enumerate(turns)]


def test_a_passage_is_one_speaker_s_thought(embedder):
    claim = "A hand-written parser ran four times faster than the generated one in every benchmark we ran."
    reason = "The generator adds generic error recovery to every rule, and that recovery costs time on each token."
    answer = "Rewriting the parser by hand took two engineers a month, and the team now owns far more code."
    found = Extractor(embedder).candidates(
        segments(("Ana", claim), ("Ana", reason), ("Ben", "Right."), ("Ana", "That was worth it."), ("Ben", answer))
    )
    assert found
    for c in found:
        assert not (claim in c.quote and answer in c.quote), c.quote  # never two speakers' thoughts in one
    assert any(claim in c.quote and reason in c.quote for c in found)  # one speaker's sentences do join


def test_a_sentence_is_judged_the_same_whether_its_numbers_are_spelled_or_written():
    # Whisper writes the same speech either way from one run to the next; a verbless opening of
    # 13 spoken words stands alone in both spellings, and one of 7 in neither.
    rest = " It was called a law of road congestion. The new space filled up."
    for opening in (
        "Twenty percent more seats, roughly twenty percent more riders within about five years.",
        "20% more seats, roughly 20% more riders within about 5 years.",
    ):
        assert faults(opening + rest) == [], opening
    for opening in ("Thirty degrees warmer, by about noon.", "30° warmer, by about noon."):
        assert "points back" in faults(opening + rest), opening
