"""Shows: following, checking, removing and importing feeds."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..errors import NotFound, ParseError
from ..ingest.scan import fetch_feed, settle
from ..models import Show
from ..net import Fetcher
from ..parsers.opml import MAX_BYTES as MAX_OPML_BYTES
from ..parsers.opml import parse_opml, to_opml
from ..parsers.url import feed_address
from ..store import Store
from .app import SHOWS_PER_PAGE


def my_show(request: Request, store: Store) -> Show:
    """The show in the path, if the person follows it; else NotFound."""
    mine = {show.id: show for show in store.shows.followed(request.state.uid)}
    if request.path_params["id"] not in mine:
        raise NotFound("Not one of your shows: the Shows page lists them.")
    return mine[request.path_params["id"]]


def feeds(request: Request, message: str = ""):
    """GET /feeds: the person's shows, a page at a time, with each feed's state."""
    app = request.app.state.podsift
    try:
        number = int(request.query_params.get("page", "1"))
    except ValueError:
        number = 0
    with app.store() as store:
        shows = store.shows.followed(request.state.uid)
    pages = max(1, -(-len(shows) // SHOWS_PER_PAGE))
    if not 1 <= number <= pages:
        return app.problem(request, 404, f"There is no page {request.query_params.get('page')}: pages 1 to {pages}.")
    shown = shows[(number - 1) * SHOWS_PER_PAGE : number * SHOWS_PER_PAGE]
    context = {"total": len(shows), "page": number, "pages": pages, "message": message}
    return app.page(request, "feeds.html", shows=shown, **context)


def add_feed(request: Request, form):
    """POST /feeds/add: follow a feed URL."""
    app = request.app.state.podsift
    try:
        url = feed_address(str(form.get("url", "")))
    except ParseError as exc:
        return feeds(request, str(exc))
    with app.store() as store:
        store.shows.subscribe(request.state.uid, url)
    return feeds(request, f"Subscribed to {url}; its episodes arrive with the next scan.")


def show_page(request: Request, message: str = ""):
    """GET /show/ID: one show's checks and episodes, with the state of each in words."""
    app = request.app.state.podsift
    with app.store() as store:
        show = my_show(request, store)
        episodes = list(reversed(store.episodes.matching(show_id=show.id)))[:100]
    return app.page(request, "show.html", show=show, episodes=episodes, message=message)


def check_show(request: Request, form):
    """POST /show/ID/check: poll the feed now (and resume it if paused)."""
    app = request.app.state.podsift
    settings = app.settings
    with app.store() as store:
        show = my_show(request, store)
        if show.paused:
            show, _ = store.shows.subscribe(request.state.uid, show.feed_url)  # subscribing again resumes it
        with Fetcher(settings) as fetcher:
            result = settle(store, show, lambda: fetch_feed(fetcher, show, settings), settings)
    said = {
        "updated": f"Checked: {result.new_episodes} new episode(s), transcribed at the next scan.",
        "unchanged": "Checked: nothing new since the last check.",
        "failed": f"The check failed: {result.message}",
    }[result.outcome]
    return show_page(request, said)


def confirm_remove(request: Request):
    """GET /show/ID/remove: ask before unfollowing."""
    app = request.app.state.podsift
    with app.store() as store:
        show = my_show(request, store)
    return app.page(request, "remove.html", show=show)


def remove_feed(request: Request, form):
    """POST /feeds/remove: stop following a feed; its transcripts stay for others."""
    app = request.app.state.podsift
    with app.store() as store:
        try:
            store.shows.unsubscribe(request.state.uid, str(form.get("url", "")))
        except NotFound as exc:
            return feeds(request, str(exc))
    return RedirectResponse("/feeds", status_code=303)


def import_opml(request: Request, form):
    """POST /feeds/import: follow every feed of an OPML file from a podcast app."""
    app = request.app.state.podsift
    upload = form.get("opml")
    try:
        found = parse_opml(upload.file.read(MAX_OPML_BYTES + 1)) if upload and hasattr(upload, "file") else []
    except ParseError as exc:
        return feeds(request, str(exc))
    with app.store() as store:
        added = sum(store.shows.subscribe(request.state.uid, url, title)[1] for title, url in found)
    return feeds(request, f"Imported {added} new show(s) of {len(found)} in the file.")


def export_opml(request: Request):
    """GET /feeds/export: the person's shows as OPML."""
    app = request.app.state.podsift
    with app.store() as store:
        shows = store.shows.followed(request.state.uid)
    return Response(
        to_opml([(s.title, s.feed_url) for s in shows]),
        media_type="text/x-opml",
        headers={"Content-Disposition": 'attachment; filename="podsift.opml"'},
    )
