"""Insight cards from a language model (issue #14): each card is checked against what was said
before a reader sees it, and a model that invents, refuses or is down never costs the scan or the
digest its extractive text. The model is conftest's `models`, an OpenAI-compatible API on
127.0.0.1 that answers as the tests script it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from conftest import EPISODE, LLAMA_MODEL, vtt

from podsift.cli import main
from podsift.insights.cards import Source, check, names, numbers, parse, units
from podsift.store import Store

PASSAGE = (
    "Glaciers flow because ice under its own weight deforms like a very thick liquid. It means a glacier "
    "moves downhill by tens of meters per year even though it looks frozen solid."
)
SOURCE = Source(PASSAGE, "So, let's talk about glaciers.", "Ha, I love that.", "Cold Facts", "Glaciers")
FAITHFUL = (
    "Glaciers flow because the ice deforms under its own weight like a very thick liquid, so a glacier moves "
    "downhill by tens of meters per year even though it looks frozen solid."
)


def test_a_faithful_card_passes(embedder):
    assert check("Why glaciers move", FAITHFUL, SOURCE, embedder) is None


@pytest.mark.parametrize(
    "card,reason",
    [
        (FAITHFUL.replace("tens of meters", "42% farther"), "the number '42' is not in what was said"),
        (FAITHFUL.replace("tens of meters", "30 miles"), "the number '30' is not in what was said"),
        (FAITHFUL.replace("its own weight", "the weight of 3 km of snow"), "the number '3' is not in what was said"),
        (FAITHFUL.replace("Glaciers flow", "In Greenland, glaciers flow"), "the name 'greenland' is not in"),
        (FAITHFUL.replace("even though it looks", "and it does not look"), "a negation that was not said"),
        ("Glaciers flow like thick liquid.", "5 words, not 30 to 70"),
        ("Said just before: " + FAITHFUL, "repeats the request's label 'Said just before'"),
        (FAITHFUL.replace("a glacier moves", "you can watch a glacier move"), "not in the third person ('you')"),
        (
            "Sourdough rises slowly because the wild yeast in a starter ferments its sugars at cooler kitchen "
            "temperatures, so bakers who want a more sour loaf leave their dough in the fridge overnight before "
            "they shape and bake it.",
            "the name 'sourdough' is not in what was said",
        ),
    ],
)
def test_a_card_that_changes_what_was_said_is_refused(embedder, card, reason):
    found = check("Why glaciers move", card, SOURCE, embedder)
    assert found is not None and found.startswith(reason), found


def test_the_country_us_is_a_name_and_the_pronoun_us_is_not_third_person(embedder):
    source = Source(PASSAGE.replace("Glaciers flow", "In the US, glaciers flow"), "", "", "Cold Facts", "Glaciers")
    assert check("Why glaciers move", "In the US, g" + FAITHFUL[1:], source, embedder) is None
    told = "Glaciers flow, the host tells us, because" + FAITHFUL.removeprefix("Glaciers flow because")
    assert check("Why glaciers move", told, source, embedder) == "not in the third person ('us')"


def test_a_card_far_from_its_passage_in_meaning_is_refused(embedder):
    """Every word of it was said nearby, but it is not what the passage says."""
    source = Source(PASSAGE, "", "Sourdough bakers say the same of dough.", "Cold Facts", "Glaciers")
    card = (
        "Sourdough bakers leave the dough to rise slowly in a cold kitchen overnight, because wild yeast ferments "
        "sugars more slowly at low temperatures, which gives the bread a deeper sour taste and a more open crumb."
    )
    assert check("Sourdough", card, source, embedder).startswith("says something else than the passage (cosine 0.2")


def test_numbers_and_units_are_compared_as_said_not_as_written():
    assert numbers("It cost $500,000,000, not twenty dollars") == {"500000000", "20"}
    assert numbers("one of the reasons") == set()  # "one" states no number
    assert units("40% of 3 hours") == units("40 percent of 3 hrs") == {"percent", "hour"}


def test_names_are_capitalised_words_but_the_pronoun_i_and_common_sentence_starts():
    assert names("I'll say it: When Stripe moved, I left. The SQLite file stayed.") == {"stripe", "sqlite"}


def test_the_answer_is_read_from_bare_or_fenced_json_and_anything_else_is_refused():
    assert parse('```json\n{"title": "Ice  flows", "card": "Glaciers\\nflow."}\n```') == ("Ice flows", "Glaciers flow.")
    with pytest.raises(ValueError):
        parse("Sure! Here is your card: glaciers flow.")
    with pytest.raises(ValueError):
        parse('{"title": "Ice"}')
    assert parse('{"title": "Ice", "card": "Glaciers\nflow."}') == ("Ice", "Glaciers flow.")  # a raw line break


# -- a scan with a model configured ------------------------------------------------------------


@pytest.fixture
def show(server, home, models, monkeypatch):
    """A feed whose one episode (published yesterday) has a publisher transcript, followed, with
    [llm] set to the loopback model."""
    from conftest import rss

    monkeypatch.setenv("PODSIFT_ALLOW_PRIVATE_NETWORKS", "1")
    (server.root / "ep.vtt").write_text(vtt(EPISODE))
    published = datetime.now(timezone.utc) - timedelta(days=1)
    item = {"guid": "ep-1", "title": "Glaciers", "audio": f"{server.url}/ep.mp3", "transcript": f"{server.url}/ep.vtt"}
    (server.root / "feed.xml").write_text(rss("Cold Facts", [{**item, "published": published}]))
    home.mkdir(parents=True, exist_ok=True)
    (home / "podsift.toml").write_text(f'[llm]\nbase_url = "{models.url}"\nmodel = "llama3.2"\n')
    assert CliRunner().invoke(main, ["subscribe", f"{server.url}/feed.xml"]).exit_code == 0
    return published.date().isoformat()


def cli(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def insights():
    return json.loads(cli("insights", "--format", "json"))["episodes"][0]["insights"]


def card_for(messages) -> str:
    """A faithful card of whatever passage the model was sent."""
    passage = messages[-1]["content"].split("PASSAGE: ")[1].split("\n\nSaid just after")[0]
    assert "Glaciers flow because ice" in passage, passage
    return json.dumps({"title": "Why glaciers move", "card": FAITHFUL})


def test_a_faithful_card_is_what_the_reader_sees_and_the_quote_stays_as_said(show, models):
    models.reply = card_for
    output = cli("scan", "--quiet")
    assert "1 shown, 0 refused, 0 failed" in output and "260 tokens" in output
    (top, *_) = insights()
    assert top["insight"] == FAITHFUL and top["edited_by"] == "llama3.2" and top["edit_rejected"] is None
    assert top["quote"].startswith("Glaciers flow because ice under its own weight")
    day = json.loads(cli("digest", "--date", show, "--format", "json"))["items"][0]
    assert day["insight"] == FAITHFUL and day["edited_by"] == "llama3.2"
    assert f"1. Why glaciers move. {FAITHFUL}" in cli("digest", "--date", show)  # the card's title leads
    explained = cli("insights", "--explain")
    assert "card by llama3.2: \u201cWhy glaciers move\u201d; as said: Glaciers flow because ice" in explained


def test_a_card_that_invents_a_number_never_reaches_the_digest(show, models):
    models.reply = lambda messages: json.dumps({"title": "Glaciers", "card": FAITHFUL.replace("tens of", "42")})
    assert "0 shown, 1 refused" in cli("scan", "--quiet")
    (top, *_) = insights()
    assert "42" not in top["insight"] and top["edited_by"] is None
    assert top["edit_rejected"] == "the number '42' is not in what was said"
    day = json.loads(cli("digest", "--date", show, "--format", "json"))["items"]
    assert day and not any("42" in item["insight"] for item in day)  # (the audio URL's port may hold a 42)
    assert "card refused (the number '42' is not in what was said)" in cli("insights", "--explain")


@pytest.mark.parametrize(
    "answer,what",
    [((429, {}), "HTTP 429"), ((500, {}), "HTTP 500"), (None, "cannot reach the language model")],
)
def test_a_model_that_refuses_or_is_down_leaves_the_scan_and_digest_whole_and_is_asked_again(
    show, models, answer, what
):
    if answer is None:
        models.httpd.shutdown()
        models.httpd.server_close()
    else:
        models.reply = lambda messages: answer
    output = cli("scan", "--quiet")
    assert "0 shown, 0 refused, 1 failed" in output and what in output and "edited at the next scan" in output
    (top,) = insights()[:1]
    assert top["insight"].startswith("Glaciers flow because ice") and top["edited_by"] is None
    assert "Glaciers flow because ice" in cli("digest", "--date", show)
    if answer is not None:  # the next scan asks again, and this time the model answers
        models.reply = card_for
        assert "1 shown, 0 refused, 0 failed" in cli("scan", "--quiet")
        assert insights()[0]["insight"] == FAITHFUL


def test_the_cards_shape_is_asked_for_as_a_schema_and_a_server_that_refuses_one_is_asked_without(show, models):
    models.reply, models.refuse_schema = card_for, True
    assert "1 shown, 0 refused, 0 failed" in cli("scan", "--quiet")
    first, second = models.formats
    assert first["type"] == "json_object" and first["schema"]["required"] == ["title", "card"]
    assert second == {"type": "json_object"} and insights()[0]["insight"] == FAITHFUL


def test_a_short_retry_after_is_waited_out_and_the_card_asked_again(show, models):
    answers = iter([(429, {"Retry-After": "1"}), None])
    models.reply = lambda messages: next(answers) or card_for(messages)
    assert "1 shown, 0 refused, 0 failed" in cli("scan", "--quiet")
    assert len(models.chats) == 2 and insights()[0]["insight"] == FAITHFUL


def test_a_long_retry_after_stops_the_pass_and_says_how_long_was_asked(show, models):
    models.reply = lambda messages: (429, {"Retry-After": "3600"})
    output = cli("scan", "--quiet")
    assert "rate-limited; it asked for 3600 s of quiet" in output and len(models.chats) == 1


def test_without_a_model_nothing_is_asked_and_the_summary_says_nothing_of_cards(show, models, home):
    (home / "podsift.toml").write_text("")
    assert "cards edited" not in cli("scan", "--quiet") and models.chats == []


def test_a_model_slower_than_its_timeout_is_given_up_on_and_the_scan_goes_on(show, models, home):
    (home / "podsift.toml").write_text(f'[llm]\nbase_url = "{models.url}"\nmodel = "llama3.2"\ntimeout = 0.5\n')
    models.delay, models.reply = 3.0, card_for
    output = cli("scan", "--quiet")
    assert "1 failed" in output and "did not answer within [llm] timeout (0.5 s)" in output
    assert "Glaciers flow because ice" in cli("digest", "--date", show)


def test_reedit_forgets_the_cards_and_the_next_scan_edits_again(show, models):
    models.reply = card_for
    cli("scan", "--quiet")
    assert insights()[0]["edited_by"] == "llama3.2"
    assert "Forgot 1 card(s)" in CliRunner().invoke(main, ["llm", "reedit"]).output
    assert insights()[0]["edited_by"] is None  # until the next scan: the extractive text
    models.reply = lambda messages: json.dumps({"title": "Glaciers", "card": FAITHFUL.replace("tens of", "42")})
    assert "0 shown, 1 refused" in cli("scan", "--quiet")


def test_an_insight_already_emailed_keeps_the_text_it_was_sent_with(show, models, smtp, monkeypatch):
    """A card that arrives after the email must not rewrite that day on the web page and feed."""
    monkeypatch.setenv("PODSIFT_SMTP_URL", smtp.url)
    monkeypatch.setenv("PODSIFT_MAIL_FROM", "digest@example.org")
    CliRunner().invoke(main, ["user", "add", "ada@example.org", "--password-stdin"], input="s3cret\n")
    models.reply = lambda messages: (500, {})
    assert "ada@example.org: sent" in cli("run", "--date", show)  # scans first: the model fails
    assert "Glaciers flow because ice" in smtp.messages[0].get_body(("plain",)).get_content()
    models.reply = card_for
    assert "0 shown, 0 refused, 0 failed" in cli("scan", "--quiet") and len(models.chats) == 1
    assert "Forgot 0 card(s)" in CliRunner().invoke(main, ["llm", "reedit"]).output
    (top, *_) = insights()
    assert top["insight"].startswith("Glaciers flow because ice") and top["edited_by"] is None


# -- the real thing: SmolLM2-135M behind llama.cpp's server ------------------------------------


@pytest.fixture
def real_model(show, home, llama):
    """The `show` scan, with [llm] pointed at conftest's `llama` (a real model on 127.0.0.1)."""
    (home / "podsift.toml").write_text(f'[llm]\nbase_url = "{llama}"\nmodel = "{LLAMA_MODEL}"\ntimeout = 120\n')
    return show


def stored_card(home) -> dict:
    with Store.open(home / "podsift.db") as store:
        return dict(store.db.execute("SELECT * FROM cards").fetchone())


def test_a_real_models_card_is_stored_with_its_cost_and_shown_only_if_it_passes_the_checks(real_model, home):
    output = cli("scan", "--quiet")
    shown, refused, failed = map(int, re.search(r"(\d+) shown, (\d+) refused, (\d+) failed", output).groups())
    assert (shown + refused, failed) == (1, 0), output  # llama.cpp understood the request and podsift its answer
    card = stored_card(home)
    assert card["model"] == LLAMA_MODEL and card["tokens"] > 0 and card["seconds"] > 0
    (top, *_) = insights()
    assert top["quote"].startswith("Glaciers flow because ice under its own weight")
    if card["outcome"] == "accepted":
        assert (top["insight"], top["edited_by"], top["edit_rejected"]) == (card["text"], LLAMA_MODEL, None)
    else:  # what a 135M model mostly gets: the reader keeps the extractive text, and why is on record
        assert card["reason"] and top["edit_rejected"] == card["reason"] and top["edited_by"] is None
        assert top["insight"].startswith("Glaciers flow because ice")


def test_a_real_model_slower_than_the_timeout_leaves_the_scan_and_digest_their_text(show, home, llama_alone):
    settings = f'[llm]\nbase_url = "{llama_alone}"\nmodel = "{LLAMA_MODEL}"\ntimeout = 0.05\n'
    (home / "podsift.toml").write_text(settings)
    output = cli("scan", "--quiet")
    assert "0 shown, 0 refused, 1 failed" in output and "did not answer within [llm] timeout (0.05 s)" in output
    assert "Glaciers flow because ice" in cli("digest", "--date", show)
