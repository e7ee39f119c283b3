"""Subjects: a topic digest for any subject across every show the install follows, following a
subject (a section of the email and an Atom feed of its own), and that feed."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from ..deliver.rank import days_bounds, digest_items
from ..deliver.render import digests_atom
from ..deliver.topic import topic_digest
from ..settings import zone
from .access import signed

SPANS = ((7, "the last week"), (30, "the last month"), (365, "the last year"))
MAX_SUBJECT = 100  # characters: a subject, not a paragraph
MAX_FOLLOWED = 20


def subject(request: Request):
    """GET /subject?q=&days=: what every followed show said about a subject in the last days."""
    app = request.app.state.podsift
    query = " ".join(request.query_params.get("q", "").split())
    days = request.query_params.get("days", "7")
    days = int(days) if days in {str(d) for d, _ in SPANS} else 7
    uid = request.state.uid
    context = {"query": query[:MAX_SUBJECT], "days": days, "spans": SPANS, "items": [], "error": ""}
    if len(query) > MAX_SUBJECT:
        context["error"] = f"A subject of at most {MAX_SUBJECT} characters, please: a few words say it best."
        return app.page(request, "subject.html", 400, **context)
    with app.store() as store:
        timezone = store.people.get(uid).timezone or app.settings.timezone
        until = datetime.now(zone(timezone)).date()
        since = until - timedelta(days=days - 1)
        if query:
            context["items"] = topic_digest(store, app.embedder, query, *days_bounds(since, until, timezone))
        followed = next((t for t in store.people.topics(uid) if t.query.lower() == query.lower()), None)
        linked = {s.id for s in store.shows.followed(uid)}
        votes = store.insights.votes(uid)
    back = f"/subject?q={quote(query)}&days={days}"
    weekly = app.settings.topic_digests == "weekly"
    return app.page(
        request,
        "subject.html",
        **context,
        since=since.isoformat(),
        until=until.isoformat(),
        followed=followed,
        linked=linked,
        votes=votes,
        back=back,
        weekly=weekly,
    )


def follow(request: Request, form):
    """POST /subject/follow: follow the subject `q`; back to its page."""
    app = request.app.state.podsift
    query = " ".join(str(form.get("q", "")).split())
    if not query or len(query) > MAX_SUBJECT:
        return app.problem(request, 400, f"Give a subject of 1 to {MAX_SUBJECT} characters to follow.")
    with app.store() as store:
        if len(store.people.topics(request.state.uid)) >= MAX_FOLLOWED:
            return app.problem(request, 400, f"At most {MAX_FOLLOWED} subjects: stop following one first.")
        store.people.follow_topic(request.state.uid, query)
    return RedirectResponse(f"/subject?q={quote(query)}", status_code=303)


def unfollow(request: Request, form):
    """POST /subject/unfollow: stop following the subject `id`; back to the settings."""
    app = request.app.state.podsift
    try:
        topic_id = int(str(form.get("id", "")))
    except ValueError:
        return app.problem(request, 400, "Which subject? The settings page lists the ones you follow.")
    with app.store() as store:
        store.people.unfollow_topic(request.state.uid, topic_id)
    return RedirectResponse("/settings", status_code=303)


def subject_feed(request: Request):
    """GET /feed/ID/topics/TOPIC/TOKEN.atom: what the person's digests carried for one followed
    subject, as Atom (signed for that subject, no login)."""
    app = request.app.state.podsift
    topic_id = int(request.path_params["tid"])
    recipient_id = signed(request, f"topic-{topic_id}")
    with app.store() as store:
        found = next((t for t in store.people.topics(recipient_id) if t.id == topic_id), None) if recipient_id else None
        if found is None:
            return PlainTextResponse("This feed address is not valid (or the subject is no longer followed).", 404)
        days = [(day, built, digest_items(items)) for day, built, items in store.digests.topic_days(topic_id)]
    atom = digests_atom(app.settings.base_url, days, str(request.url), topic=(topic_id, found.query))
    return Response(atom, media_type="application/atom+xml; charset=utf-8")
