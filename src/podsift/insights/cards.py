"""Insight cards: a language model rewrites an insight podsift selected into edited prose, and the
card reaches a reader only if it keeps to what was said (issue #14's "select, then edit").

The model never chooses what an insight is and never sees more than the passage's neighbourhood:
the passage, a few sentences on each side, the show, the episode's title and notes. Its card is
checked before anyone reads it (`check`): every number, unit, name and negation must come from
that source, its meaning must stay close to the passage (MiniLM cosine at least MIN_COSINE), and
it must pass the same reader checks as extractive text. A card that fails keeps the extractive
text and records why.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from ..errors import HTTPStatusError, PodsiftError
from ..models import Segment, StoredInsight
from ..net import ModelEndpoint
from ..progress import Reporter
from ..store import Store
from .clean import NEGATIONS, NUMBERS, faults
from .embed import Embedder
from .features import FUNCTION
from .topics import STOPWORDS

PROMPT_VERSION = 2  # 2: the card's JSON schema rides with the request
CARD_RANKS = 5  # insights edited per episode: the ones a digest can take
CARD_DAYS = 7  # episodes older than this are not edited: their days' digests are made
NEIGHBOURS = 3  # transcript sentences shown on each side of the passage
CARD_WORDS = (30, 70)
TITLE_WORDS = 10
# Editors' own statements of the benchmark corpora lie at cosine 0.5 or more from the passage they
# sum up in 87% of cases (127 of 146 gold statements of dev and real-dev, all-MiniLM-L6-v2): a card
# further from its passage than that says something else.
MIN_COSINE = 0.5
NOTES_CHARS = 600
# A 429 that asks to wait this long or less is waited out and the card asked again (twice at
# most); a longer wait stops the pass, and the next scan asks.
MAX_RETRY_WAIT = 30.0
RETRIES = 2
# The request's labels, which a card must never repeat (a small model echoes them).
SHOW, EPISODE, NOTES, BEFORE, PASSAGE, AFTER = (
    "Show",
    "Episode",
    "Episode notes",
    "Said just before",
    "PASSAGE",
    "Said just after",
)
PROMPT_LABELS = (f"{SHOW}:", f"{EPISODE}:", NOTES, BEFORE, f"{PASSAGE}:", AFTER)
# A card speaks of the show's people, not as them or to the reader: no first or second person.
SPEAKER = re.compile(r"\b(?:I|I'm|I've|I'd|me|my|we|we're|we've|us|our|you|you're|you've|your)\b", re.I)

# The answer's shape. A server that holds decoding to a schema (llama.cpp's) can then only answer
# with a title and a card of about the right length (30 words are some 150 characters, 70 about
# 450); the lengths are checked again in `check`, in words, whatever the server did.
CARD_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 3, "maxLength": 80},
        "card": {"type": "string", "minLength": 150, "maxLength": 500},
    },
    "required": ["title", "card"],
}

SYSTEM = (
    "You are the editor of a daily newsletter of podcast insights. You rewrite one passage of a podcast "
    "transcript into a card: a statement of 30 to 70 words, in the third person, that a reader understands "
    "without the episode, and a title of at most 10 words. Use only what the passage and its context say: "
    "never add a number, name, unit or claim, never drop a 'not'. Answer with JSON only, like "
    '{"title": "...", "card": "..."}.'
)

# "one" is left out: "one of the reasons" states no number.
TWO_TO_TWENTY = "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
TWO_TO_TWENTY += "seventeen eighteen nineteen twenty"
NUMBER_WORDS = dict(zip(TWO_TO_TWENTY.split(), map(str, range(2, 21)), strict=True))
NUMBER_WORDS |= {"zero": "0", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70"}
NUMBER_WORDS |= {"eighty": "80", "ninety": "90"}
# Units a number carries, each with the ways it is written; a card's unit must be one its source uses.
UNITS = {
    "percent": ("%", "percent", "per cent"),
    "dollar": ("$", "dollar", "dollars", "usd"),
    "euro": ("€", "euro", "euros"),
    "pound": ("£", "pound", "pounds", "gbp"),
    "second": ("second", "seconds", "sec", "secs", "s"),
    "minute": ("minute", "minutes", "min", "mins"),
    "hour": ("hour", "hours", "hr", "hrs", "h"),
    "day": ("day", "days"),
    "week": ("week", "weeks"),
    "month": ("month", "months"),
    "year": ("year", "years"),
    "millisecond": ("millisecond", "milliseconds", "ms"),
    "meter": ("meter", "meters", "metre", "metres"),
    "kilometer": ("kilometer", "kilometers", "kilometre", "kilometres", "km"),
    "mile": ("mile", "miles", "mph"),
    "gram": ("gram", "grams", "g"),
    "kilogram": ("kilogram", "kilograms", "kg", "kilo", "kilos"),
    "byte": ("byte", "bytes", "kb", "mb", "gb", "tb", "megabyte", "megabytes", "gigabyte", "gigabytes"),
    "times": ("x", "times", "fold"),
    "million": ("million", "millions", "m"),
    "billion": ("billion", "billions", "bn"),
    "thousand": ("thousand", "thousands", "k"),
}
AFTER_NUMBER = re.compile(r"(?:\d[\d,.]*|\b(?:" + "|".join(NUMBER_WORDS) + r"))\s*(%|[a-z]+(?: cent)?)", re.I)
BEFORE_NUMBER = re.compile(r"([$€£])\s*\d")
PRONOUN_I = re.compile(r"I(?:['’](?:m|ll|ve|d))?")  # capitalised, but no name


@dataclass
class CardReport:
    """What one pass of editing did, for the scan's summary."""

    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    tokens: int = 0
    seconds: float = 0.0
    last_failure: str = ""

    def counts(self) -> str:
        return f"{self.accepted} shown, {self.rejected} refused, {self.failed} failed"

    def failure(self) -> str:
        """What went wrong with the model, for the summary ("" when nothing did)."""
        if not self.failed:
            return ""
        return f"{self.last_failure}; those insights keep their text and are edited at the next scan"


@dataclass
class Source:
    """What the model is shown, and what its card is held to."""

    passage: str  # the insight's reader text
    before: str  # the transcript sentences just before it
    after: str  # ...and just after
    show: str
    episode: str
    notes: str = ""

    @property
    def said(self) -> str:
        """The words a card may take its facts from: the passage, its neighbours, the show and episode."""
        return " ".join([self.before, self.passage, self.after, self.show, self.episode])


def messages(source: Source) -> list[dict]:
    """The chat request for one card."""
    context = (
        f"{SHOW}: {source.show}\n{EPISODE}: {source.episode}\n"
        f"{NOTES} (for names and context only): {source.notes[:NOTES_CHARS]}\n\n"
        f"{BEFORE}: {source.before}\n\n{PASSAGE}: {source.passage}\n\n{AFTER}: {source.after}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": context}]


def parse(answer: str) -> tuple[str, str]:
    """The title and card text of a model's answer: a JSON object, bare or in a code fence.
    ValueError when there is none."""
    found = re.search(r"\{.*\}", answer, re.S)
    if not found:
        raise ValueError("the answer holds no JSON object")
    data = json.loads(found.group(0), strict=False)  # a raw line break inside a string, as small models write
    title, text = data.get("title"), data.get("card")
    if not isinstance(title, str) or not isinstance(text, str) or not text.strip():
        raise ValueError('the answer lacks a "title" and a "card" text')
    return " ".join(title.split()), " ".join(text.split())


def check(title: str, text: str, source: Source, embedder: Embedder) -> str | None:
    """Why a card must not reach a reader, or None when it keeps to its source and reads as an editor's."""
    words = len(text.split())
    if not CARD_WORDS[0] <= words <= CARD_WORDS[1]:
        return f"{words} words, not {CARD_WORDS[0]} to {CARD_WORDS[1]}"
    if not title or len(title.split()) > TITLE_WORDS:
        return f"a title of {len(title.split())} words, not 1 to {TITLE_WORDS}"
    for kind, found, allowed in (
        ("number", numbers(text), numbers(source.said)),
        ("unit", units(text), units(source.said)),
        ("name", names(text), {w.lower() for w in re.findall(r"[\w'’-]+", source.said + " " + source.notes)}),
    ):
        invented = sorted(found - allowed)
        if invented:
            return f"the {kind} {invented[0]!r} is not in what was said"
    echoed = next((label for label in PROMPT_LABELS if label.lower() in text.lower()), None)
    if echoed:
        return f"repeats the request's label {echoed!r}"
    speaker = next((m.group(0) for m in SPEAKER.finditer(text) if m.group(0) != "US"), None)  # US: the country
    if speaker:
        return f"not in the third person ({speaker!r})"
    if NEGATIONS.search(text) and not NEGATIONS.search(source.said):
        return "a negation that was not said"
    if NEGATIONS.search(source.passage) and not NEGATIONS.search(text):
        return "drops the passage's negation"
    wrong = faults(text)
    if wrong:
        return f"reads badly: {wrong[0]}"
    card, passage = embedder([text, source.passage])
    cosine = float(np.dot(card, passage))
    if cosine < MIN_COSINE:
        return f"says something else than the passage (cosine {cosine:.2f} < {MIN_COSINE})"
    return None


def numbers(text: str) -> set[str]:
    """The numbers a text states, digits or words, as canonical digits ("1,000" and "1000" alike)."""
    found = {n.replace(",", "").rstrip(".") for n in NUMBERS.findall(text)}
    found |= {NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in NUMBER_WORDS}
    return found


def units(text: str) -> set[str]:
    """The units that follow or precede a number in a text, by family ("%" and "percent" alike)."""
    written = [m.lower() for m in AFTER_NUMBER.findall(text)] + BEFORE_NUMBER.findall(text)
    return {family for family, forms in UNITS.items() for w in written if w in forms}


def names(text: str) -> set[str]:
    """The names a text uses, lower-cased: capitalised words ("Stripe", "SQLite") but "I" ("I'll"), and a
    sentence's first word unless it is a common English word ("The", "When")."""
    found = set()
    for sentence in re.split(r"(?<=[.!?:;])\s+", text):
        for place, word in enumerate(re.findall(r"[\w'’-]+", sentence)):
            bare = word.lower()
            common_start = place == 0 and (bare in FUNCTION or bare in STOPWORDS)
            if PRONOUN_I.fullmatch(word) or not word[0].isupper() or common_start:
                continue
            found.add(bare)
    return found


def edit_cards(
    store: Store, endpoint: ModelEndpoint, embedder: Embedder, reporter: Reporter, since: datetime | None = None
) -> CardReport:
    """Edit every insight of the last CARD_DAYS (or since `since`, a scan's --since, when earlier)
    that has no card yet, or whose edit failed, at most `[llm] max_concurrent` at a time; each
    outcome is stored as it arrives. An endpoint that cannot be reached, times out or rate-limits
    (429) stops the pass: what is left is tried at the next scan."""
    recent = datetime.now(timezone.utc) - timedelta(days=CARD_DAYS)
    report, insights = CardReport(), store.insights.uncarded(CARD_RANKS, min(since, recent) if since else recent)
    given = sources(store, insights)
    reporter.start("Cards", len(insights))
    with ThreadPoolExecutor(endpoint.max_concurrent, thread_name_prefix="card") as pool:
        asked = [(i, pool.submit(_ask, endpoint, given[i.id])) for i in insights]
        for insight, future in asked:
            answer, tokens, seconds, error = future.result()
            report.tokens, report.seconds = report.tokens + tokens, report.seconds + seconds
            if error is not None:
                report.failed += 1
                report.last_failure = str(error)
                store.insights.save_card(
                    insight.id, endpoint.model, PROMPT_VERSION, "failed", reason=str(error), seconds=seconds
                )
                if not isinstance(error, HTTPStatusError) or error.status == 429:  # down, or asks us to wait
                    pool.shutdown(cancel_futures=True)
                    break
            else:
                title, text, reason = judge(answer, given[insight.id], embedder)
                outcome = "rejected" if reason else "accepted"
                setattr(report, outcome, getattr(report, outcome) + 1)
                store.insights.save_card(
                    insight.id,
                    endpoint.model,
                    PROMPT_VERSION,
                    outcome,
                    title=title,
                    text=text,
                    reason=reason,
                    tokens=tokens,
                    seconds=seconds,
                )
            reporter.advance("Cards")
    return report


def judge(answer: str, source: Source, embedder: Embedder) -> tuple[str, str, str | None]:
    """A model's answer as (title, card text, why it is refused or None)."""
    try:
        title, text = parse(answer)
    except ValueError as exc:
        return "", answer[:2000], f"no card in the answer: {exc}"
    return title, text, check(title, text, source, embedder)


def _ask(endpoint: ModelEndpoint, source: Source):
    """(answer, tokens, seconds, error): run on a worker thread, so it raises nothing. A rate
    limit with a short Retry-After is honoured here: the thread waits as asked, then asks again."""
    started, attempt = time.perf_counter(), 0
    while True:
        try:
            answer, tokens = endpoint.chat(messages(source), CARD_SCHEMA)
            return answer, tokens, time.perf_counter() - started, None
        except HTTPStatusError as exc:
            wait = exc.retry_after if exc.status == 429 else None
            if wait is None or wait > MAX_RETRY_WAIT or attempt == RETRIES:
                return "", 0, time.perf_counter() - started, exc
            attempt += 1
            time.sleep(wait)
        except PodsiftError as exc:
            return "", 0, time.perf_counter() - started, exc


def sources(store: Store, insights: list[StoredInsight]) -> dict[int, Source]:
    """What the model sees of each insight: its passage, the sentences around it, the show and episode."""
    found, segments, notes = {}, {}, {}
    for i in insights:
        if i.episode_id not in segments:
            segments[i.episode_id] = store.transcripts.get(i.episode_id).segments
            notes[i.episode_id] = store.episodes.get(i.episode_id).description
        before, after = _around(segments[i.episode_id], i.start, i.end)
        found[i.id] = Source(i.extract, before, after, i.show_title, i.episode_title, notes[i.episode_id])
    return found


def _around(segments: list[Segment], start: float, end: float) -> tuple[str, str]:
    before = [s.text for s in segments if s.end <= start + 0.01][-NEIGHBOURS:]
    after = [s.text for s in segments if s.start >= end - 0.01][:NEIGHBOURS]
    return " ".join(before), " ".join(after)
