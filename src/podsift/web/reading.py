"""Reading: the day's digest, an episode with its transcript, search, topics, votes and exports."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse

from ..deliver.rank import digest_day, digest_for, yesterday
from ..deliver.render import (
    digest_json,
    digest_markdown,
    episode_markdown,
    readwise_csv,
)
from ..errors import NotFound, ParseError
from ..insights.topics import Topic, topics
from ..models import Episode
from ..settings import zone
from ..store import Store
from .app import EXPORTS, App, exported


def home(request: Request):
    """GET /: the person's latest stored digest, or yesterday's."""
    app = request.app.state.podsift
    settings = app.settings
    with app.store() as store:
        days = store.digests.days(request.state.uid, 1)
        timezone = store.people.get(request.state.uid).timezone or settings.timezone
    latest = days[0][0] if days else yesterday(timezone).isoformat()
    return RedirectResponse(f"/digest/{latest}", status_code=303)


def day_of(request: Request, store: Store) -> tuple[date, str]:
    """The day in the path and the person's time zone; NotFound, saying what is valid, for any other."""
    app = request.app.state.podsift
    settings = app.settings
    timezone = store.people.get(request.state.uid).timezone or settings.timezone
    try:
        day = date.fromisoformat(request.path_params["day"])
    except ValueError:
        raise NotFound("Not a date: use /digest/YYYY-MM-DD.") from None
    return digest_day(day, timezone), timezone


def my_episode(request: Request, store: Store) -> Episode:
    """The episode in the path, if the person follows its show; else NotFound."""
    found = store.episodes.lookup(str(request.path_params["id"]))
    if found.show_id not in {s.id for s in store.shows.followed(request.state.uid)}:
        raise NotFound("Not one of your shows.")
    return found


def digest(request: Request):
    """GET /digest/DAY: a day's digest, each insight with its player at the second it was said."""
    app = request.app.state.podsift
    settings = app.settings
    uid = request.state.uid
    with app.store() as store:
        day, timezone = day_of(request, store)
        found = digest_for(store, settings, uid, day, app.embedder)
        votes = store.insights.votes(uid)
        linked = {s.id for s in store.shows.followed(uid)}  # a followed subject's insights come from any show
    today = datetime.now(zone(timezone)).date()
    return app.page(
        request,
        "digest.html",
        day=day.isoformat(),
        items=found.items,
        sections=found.sections,
        linked=linked,
        provisional=found.provisional,
        votes=votes,
        previous=(day - timedelta(days=1)).isoformat() if day > date(1970, 1, 1) else "",
        next=(day + timedelta(days=1)).isoformat() if day < today else "",
    )


def digest_export(request: Request):
    """GET /digest/DAY.md|csv|json: the day's digest as Markdown, Readwise CSV or JSON."""
    app = request.app.state.podsift
    settings = app.settings
    fmt = request.path_params["fmt"]
    if fmt not in EXPORTS:
        return app.problem(request, 404, "A digest is exported as .md, .csv (for Readwise) or .json.")
    with app.store() as store:
        day, _ = day_of(request, store)
        items = digest_for(store, settings, request.state.uid, day, app.embedder).items
    body = {
        "md": lambda: digest_markdown(day.isoformat(), items),
        "csv": lambda: readwise_csv([item.insight for item in items], day.isoformat()),
        "json": lambda: digest_json(day.isoformat(), items),
    }[fmt]()
    return exported(body, fmt, f"podsift-{day.isoformat()}")


def episode_export(request: Request):
    """GET /episode/ID.md|csv: an episode's insights as Markdown or Readwise CSV."""
    app = request.app.state.podsift
    fmt = request.path_params["fmt"]
    if fmt not in ("md", "csv"):
        return app.problem(request, 404, "An episode's insights are exported as .md or .csv (for Readwise).")
    with app.store() as store:
        found = my_episode(request, store)
        insights = store.insights.matching(episode_ids=[found.id])
    day = found.published_at.date().isoformat() if found.published_at else ""
    if fmt == "md":
        return exported(episode_markdown(found, insights), fmt, f"podsift-episode-{found.id}")
    return exported(readwise_csv(insights, day), fmt, f"podsift-episode-{found.id}")


def vote(request: Request, form):
    """POST /insight/ID/vote: a thumbs up or down, which later digests weigh."""
    app = request.app.state.podsift
    with app.store() as store:
        store.insights.vote(request.state.uid, int(request.path_params["id"]), 1 if form.get("vote") == "up" else -1)
    back = str(form.get("back", "/"))
    return RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/", status_code=303)


def search(request: Request):
    """GET /search?q=: insights and transcript passages with every word, in the person's shows."""
    app = request.app.state.podsift
    query = request.query_params.get("q", "").strip()
    with app.store() as store:
        try:
            results = store.insights.search(query, request.state.uid) if query else []
        except ParseError as exc:
            return app.page(request, "search.html", 400, query=query[:200], results=[], error=str(exc))
    return app.page(request, "search.html", query=query, results=results)


def episode(request: Request):
    """GET /episode/ID: an episode's transcript, sentence by sentence, with its player."""
    app = request.app.state.podsift
    with app.store() as store:
        found = my_episode(request, store)
        text = store.transcripts.get(found.id)
        spans = [(i.start, i.end) for i in store.insights.matching(episode_ids=[found.id])]

    def insight_at(segment) -> bool:
        return any(start <= segment.start < end for start, end in spans)

    return app.page(request, "episode.html", episode=found, transcript=text, insight_at=insight_at)


def user_topics(app: App, uid: int) -> list[Topic]:
    """The topics of the insights of a person's shows."""
    with app.store() as store:
        return topics(store.insights.matching(recipient_id=uid))


def topic_list(request: Request):
    """GET /topics: the ideas the person's shows keep coming back to."""
    app = request.app.state.podsift
    return app.page(request, "topics.html", topics=user_topics(app, request.state.uid))


def topic_page(request: Request):
    """GET /topics/ID: one topic's insights across shows."""
    app = request.app.state.podsift
    wanted = request.path_params["id"]
    found = [t for t in user_topics(app, request.state.uid) if wanted in {i.id for i in t.insights}]
    if not found:
        return app.problem(request, 404, "No such topic: the topics page lists them.")
    return app.page(request, "topic.html", topic=found[0])


async def not_found(request: Request, exc):
    """Any other address: plain text that points to the digest."""
    return PlainTextResponse("Nothing here: the digest is at /.", 404)
