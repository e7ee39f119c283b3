"""Reader text from spoken words: fillers, false starts and stray connectives out, capitals and
final punctuation in. The quote an insight rests on is never changed; only what a reader sees."""

from __future__ import annotations

import re

FILLERS = re.compile(r"(?:,\s*)?\b(?:u+m+|u+h+|e+r+m+|e+r|a+h+|h+m+|m+h*m+|you know|i mean)\b(?:\s*,)?", re.I)
REPEATS = re.compile(r"\b(\w+)(?:[\s,.-]+\1\b)+", re.I)  # "the the", "I, I", "we- we"
LEADING = re.compile(
    r"^(?:so|and|but|or|because|yeah|yes|yep|no|right|well|okay|ok|oh|now|look|see|basically|actually|"
    r"honestly|anyway|like|and so|so yeah)\b[\s,.!-]*",
    re.I,
)
# A name opening a sentence and followed by a connective is the host turning to someone: "Sam, okay, so ..."
VOCATIVE = re.compile(r"^[A-Z][a-z]+,\s+(?=(?:so|okay|ok|well|right|yeah|and|but|now|look)\b)", re.I)
DANGLING = re.compile(r"^\W*(?:it|its|it's|this|that|these|those|they|them|their|he|she|his|her|which|there)\b", re.I)
REACTION = re.compile(r"^\W*(?:\w+\W*){1,3}$")  # "Right.", "Oh no.", "Huh, wow." : reactions, not content


def clean_sentence(text: str) -> str:
    """One spoken sentence as a reader should see it; "" when nothing worth reading is left."""
    text = FILLERS.sub("", text)
    text = REPEATS.sub(r"\1", text)
    previous = None
    while previous != text:  # "So, yeah, basically the ..." loses every leading connective
        previous, text = text, LEADING.sub("", VOCATIVE.sub("", text.strip(" ,;-")))
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([,;:])(?=[^\s\d])", r"\1 ", text)
    text = re.sub(r"\bi\b", "I", re.sub(r"\s{2,}", " ", text)).strip(" ,;-")
    if not text:
        return ""
    return text[0].upper() + text[1:]


def reader_text(sentences: list[str]) -> str:
    """Cleaned sentences joined into a paragraph; short reactions and interjected questions dropped."""
    kept = []
    for i, sentence in enumerate(sentences):
        cleaned = clean_sentence(sentence)
        inner = 0 < i < len(sentences) - 1
        if not cleaned or (inner and (REACTION.match(cleaned) or _short_question(cleaned))):
            continue
        kept.append(cleaned if cleaned[-1] in ".!?" else cleaned + ".")
    return " ".join(kept)


def dangles(text: str) -> bool:
    """Whether a text opens on a word that needs the sentence before it to make sense."""
    return bool(DANGLING.match(text))


def _short_question(text: str) -> bool:
    return text.endswith("?") and len(text.split()) <= 6
