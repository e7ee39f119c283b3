"""Reader text from spoken words, and the checks an editor makes before sending it.

`reader_text` takes fillers, stutters, transcript markers and stray leading connectives out, and
puts capitals and final punctuation in. It never changes what was said: a cleaning step that
would alter a number or drop a negation is not applied (`faithful`). The quote an insight rests on
is never changed; only what a reader sees.

`faults` names what an editor would not send: a passage that opens on a question or on a
sentence pointing back at something unsaid, asks a question, runs on without punctuation, ends
unfinished or on a fragment, or keeps a filler. These are the reader's rules of the issue that
asked for them (#13), written as general patterns of English speech, not examples from a corpus.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..transcribe.sentences import SENTENCE_END

# Transcribers' annotations: anything in square brackets ("[inaudible 00:28:05]", "[laughter]",
# "[crosstalk]"), the parenthesised sound cues of caption style guides ("(laughs)", "(music)"), and
# the music notes of captions. Sources: the conventions of Rev's and 3Play's transcription guides.
MARKER = re.compile(
    r"\[[^\]]{0,80}\]|\((?:laugh\w*|chuckl\w*|giggl\w*|inaudible[^)]{0,30}|unintelligible[^)]{0,30}|crosstalk|"
    r"applause|music\w*|silence|pause[sd]?|sigh\w*|cough\w*|clears throat|indistinct\w*)\)|[♪♫]+",
    re.I,
)
# Hesitation sounds, anywhere; "you know", "I mean" and "like" only where they are set off as an
# aside (at an end of the sentence or between commas), since elsewhere they are words that mean
# something ("do you know the answer", "I mean it", "a tool like grep").
FILLERS = re.compile(r"(?:,\s*)?\b(?:u+m+|u+h+|e+r+m+|a+h+|h+m+|m+h*m+)\b(?:\s*,)?", re.I)
ASIDE = re.compile(r"(?:^|,)\s*\b(?:you know|i mean|like)\b\s*(?:,|(?=[.!?]?$))", re.I)
# A word, or a pair of words, said again at once: "the the", "I, I", "we- we", "I think I think".
# Only words with a letter: "500,000,000" and "5.5" are numbers, not stutters.
WORD = r"[^\W\d_][\w']*"
REPEATS = re.compile(rf"\b({WORD})(?:(?:\s+|,\s+|-\s*)\1\b)+", re.I)
PAIR_REPEATS = re.compile(rf"\b({WORD}\s+{WORD})(?:,?\s+\1\b)+", re.I)
# Words that open a spoken sentence without adding to it. Those that can also carry meaning ("No
# company...", "Well-known...", "Now is...", "Like most...") go only when a comma sets them off.
LEADING = re.compile(
    r"^(?:(?:and so|so yeah|so|and|but|or|yeah|yes|yep|okay|ok|oh|anyway|basically|honestly|actually)\b[\s,.!-]*"
    r"|(?:no|right|well|now|look|see|like|sure|exactly)\s*[,.!]\s*)",
    re.I,
)
# A name opening a sentence and followed by a connective is the host turning to someone: "Sam, okay, so ..."
VOCATIVE = re.compile(r"^[A-Z][a-z]+,\s+(?=(?:so|okay|ok|well|right|yeah|and|but|now|look)\b)", re.I)
REACTION = re.compile(r"^\W*(?:\w+\W*){1,3}$")  # "Right.", "Oh no.", "Huh, wow." : reactions, not content
# What must survive cleaning unchanged: every number, and every word that negates.
NUMBERS = re.compile(r"\d[\d,.]*\d|\d")
NEGATIONS = re.compile(r"\b(?:not|no|never|none|nothing|nobody|nowhere|neither|nor|without|cannot)\b|n't\b", re.I)

# The first words of a sentence that needs the one before it: pronouns and demonstratives with
# nothing to refer to, connectives that continue a thought, and the words of an answer.
POINTS_BACK_OPENING = re.compile(
    r"^\W*(?:it|its|it's|this|that|these|those|they|them|their|they're|he|she|his|her|him|which|there|"
    r"so|and|but|or|because|also|instead|plus|then|still|now|anyway|otherwise|meanwhile|therefore|thus|hence|"
    r"besides|again|same|exactly|absolutely|indeed|sure|mostly|actually|basically|yeah|yes|no|right|well|"
    r"okay|ok|oh|um|uh|like|who|whom|whose)\b",
    re.I,
)
THIRD_PERSON = re.compile(r"\b(?:it|he|she|him|her|they|them)\b", re.I)
# A sentence that points at something said before it: "People worry about that.", "We covered
# that earlier": a pronoun after a verb or preposition, closing a clause or followed by an adverb.
POINTS_AT = re.compile(
    r"\b(?:about|do|did|does|like|with|of|on|is|was|for|to|covered|mentioned|said)\s+(?:that|this|it|them|those)"
    r"(?:\s*[,.;!]|\s+(?:in|at|on|earlier|before|already|too|again|here|there|last|yesterday)\b)",
    re.I,
)
# A first sentence that refers to what was said before it: "In my example earlier", "As I said".
RECALLS = re.compile(
    r"\b(?:earlier|as I (?:said|mentioned)|like I said|as we (?:said|discussed)|I mentioned|we talked about|"
    r"going back to|the other (?:thing|one)|that one|this one|the same (?:thing|way))\b",
    re.I,
)
# A sentence that stops on a word that must have more after it: "Side effects may depend on."
CUT_OFF = re.compile(
    r"\b(?:a|an|the|of|on|to|in|for|with|from|by|at|and|or|but|if|that|than|because|is|are|was|my|your|our|their)"
    r"[.!][\"'”’)]*$",
    re.I,
)
# Speech broken off and started again: "You don't depend on-- if something's ...".
BROKEN_OFF = re.compile(r"\w\s?--(?:\s|$)")
# A sentence run into the next without a stop: "four to five minutes It's building up".
RUN_TOGETHER = re.compile(r"\b[a-z][\w']*\s+(?:It|It's|The|We|We're|They|They're|This|That|So|And|But|You|There)\b")
# The same word twice in a row: a stutter cleaning could not take out faithfully ("45 45").
DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.I)
# Finite verbs of spoken English: auxiliaries, modals, contractions, past forms in -ed, and the
# present and past forms of the commonest lexical verbs (after the General Service List's verbs).
# A short opening sentence without one is a fragment ("Significantly higher than $5 a month.").
VERB = re.compile(
    r"(?:'s|'re|'ve|'d|'ll|'m|n't)\b|\b(?:[a-z]{3,}ed|is|are|was|were|be|am|has|have|had|do|does|did|can|could|"
    r"will|would|shall|should|may|might|must|get|gets|got|go|goes|went|make|makes|made|know|knows|knew|think|"
    r"thinks|thought|take|takes|took|see|sees|saw|come|comes|came|want|wants|look|looks|use|uses|find|finds|"
    r"found|give|gives|gave|tell|tells|told|work|works|call|calls|try|tries|ask|asks|need|needs|feel|feels|felt|"
    r"become|becomes|became|leave|leaves|left|put|puts|mean|means|meant|keep|keeps|kept|let|lets|begin|begins|"
    r"began|seem|seems|help|helps|show|shows|hear|hears|heard|run|runs|ran|move|moves|live|lives|bring|brings|"
    r"brought|write|writes|wrote|sit|sits|sat|stand|stands|stood|lose|loses|lost|pay|pays|paid|meet|meets|met|"
    r"set|sets|learn|learns|lead|leads|led|understand|understands|stop|stops|speak|speaks|read|reads|spend|"
    r"spends|spent|grow|grows|grew|open|opens|win|wins|won|offer|offers|buy|buys|bought|build|builds|built|"
    r"stay|stays|fall|falls|fell|cut|cuts|reach|reaches|say|says|said|turn|turns|start|starts|happen|happens|"
    r"believe|believes|play|plays|like|likes|love|loves|cost|costs|hold|holds|held|break|breaks|broke|send|"
    r"sends|sent|fix|fixes|add|adds|drop|drops|matter|matters|depend|depends|allow|allows|let's|"
    # a subject pronoun: a clause with one has its verb, whether or not the list knows it ("you just mark")
    r"i|you|we|they|he|she|it|people|everybody|everyone|nobody|someone)\b",
    re.I,
)
FRAGMENT_OPENING = 12  # words: an opening sentence this short needs a verb to be a sentence
SENTENCE = re.compile(r"(?<=[.!?])[\"'”’)]*\s+")
PUNCTUATION = re.compile(r"[,.;:!?()—–-]")
RUN_ON = 30  # words without a punctuation mark: no edited sentence runs this long unbroken
FRAGMENT = 4  # words: a sentence shorter than this, alone at an end, is a fragment ("Then.", "Twenty-nine.")
SPOKEN_SIGN = re.compile(r"(?<=\d)[%°]|[$€£](?=\d)")  # a sign read as a word of its own: percent, degrees, dollars
EARLY = 5  # words: a third-person pronoun this early in a passage points back at something unsaid


@lru_cache(maxsize=4096)  # a sentence is part of up to six candidate passages; clean it once
def clean_sentence(text: str) -> str:
    """One spoken sentence as a reader should see it; "" when nothing worth reading is left."""
    text = _tidy(MARKER.sub(" ", text))
    for step in (_unfill, _unrepeat, _strip_leading):
        cleaned = _tidy(step(text))
        if faithful(cleaned, text):  # a step that would change what was said is not taken
            text = cleaned
    return text[:1].upper() + text[1:]


def reader_text(sentences: list[str]) -> str:
    """Cleaned sentences joined into a paragraph; short reactions and interjected questions dropped."""
    kept = []
    for i, sentence in enumerate(sentences):
        cleaned = clean_sentence(sentence)
        if not cleaned or (0 < i < len(sentences) - 1 and aside(cleaned)):
            continue
        kept.append(cleaned if SENTENCE_END.search(cleaned) else cleaned + ".")
    return " ".join(kept)


def aside(sentence: str) -> bool:
    """Whether a sentence inside a passage is a reaction or a short interjected question ("How?")."""
    return bool(REACTION.match(sentence)) or (sentence.endswith("?") and len(sentence.split()) <= 6)


def faithful(text: str, source: str) -> bool:
    """Whether `text` keeps every number and every negation of `source`, in order."""
    return NUMBERS.findall(text) == NUMBERS.findall(source) and _negations(text) == _negations(source)


def faults(text: str) -> list[str]:
    """What an editor would not send in this reader text; empty for a passage that stands alone."""
    found = []
    sentences = [s for s in SENTENCE.split(text.strip()) if s.strip()] or [text]
    first, last = sentences[0], sentences[-1]
    if first.rstrip().endswith("?"):
        found.append("opens on a question")
    elif _points_back(first):
        found.append("points back")
    if "?" in text:
        found.append("asks a question")
    if any(len(run.split()) > RUN_ON for run in PUNCTUATION.split(text)) or RUN_TOGETHER.search(text):
        found.append("runs on")
    if BROKEN_OFF.search(text):
        found.append("broken off")
    if not re.search(r"[.!][\"'”’)]*$", text.strip()) or any(CUT_OFF.search(x) for x in sentences):
        found.append("unfinished")
    elif len(sentences) > 1 and spoken_length(last) < FRAGMENT:
        found.append("ends on a fragment")
    if ASIDE.search(text) or re.search(r"\b(?:you know|um+|uh+)\b", text, re.I):
        found.append("filler")
    if DOUBLED.search(text) or MARKER.search(text):
        found.append("stutter or marker")
    return found


def dangles(text: str) -> bool:
    """Whether a text opens on a word that needs the sentence before it to make sense."""
    return bool(POINTS_BACK_OPENING.match(text))


def spoken_length(sentence: str) -> int:
    """Words as said: "10%" is two, as "ten percent" is, so that the length rules judge a sentence
    the same however speech-to-text wrote its numbers."""
    return len(sentence.split()) + len(SPOKEN_SIGN.findall(sentence))


def _points_back(sentence: str) -> bool:
    words, length = sentence.split(), spoken_length(sentence)
    return (
        dangles(sentence)
        or length < FRAGMENT
        or (length <= FRAGMENT_OPENING and not VERB.search(sentence))
        or bool(THIRD_PERSON.search(" ".join(words[:EARLY])))
        or bool(POINTS_AT.search(sentence))
        or bool(RECALLS.search(sentence))
    )


def _unfill(text: str) -> str:
    return ASIDE.sub(" ", FILLERS.sub(" ", text))


def _unrepeat(text: str) -> str:
    return REPEATS.sub(r"\1", PAIR_REPEATS.sub(r"\1", text))


def _strip_leading(text: str) -> str:
    previous = None
    while previous != text:  # "So, yeah, basically the ..." loses every leading connective
        previous, text = text, LEADING.sub("", VOCATIVE.sub("", text.strip(" ,;-")))
    return text


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([,;:])(?=[^\s\d])", r"\1 ", text)
    text = re.sub(r"([,;:])\s*([,;:])", r"\1", text)
    return re.sub(r"\bi\b", "I", re.sub(r"\s{2,}", " ", text)).strip(" ,;-")


def _negations(text: str) -> list[str]:
    return [n.lower() for n in NEGATIONS.findall(text)]
