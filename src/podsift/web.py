"""The web app: read digests and play each insight from its second, rate insights, manage shows.

Starlette with Jinja templates (autoescaped: every piece of feed text is escaped on the way out),
no front-end build. Every page but login and unsubscribe needs a session; every form carries a
CSRF token bound to the session; failed logins are rate-limited per client address. The
unsubscribe link in email works without logging in, authenticated by its signed token, and
accepts the one-click POST of RFC 8058.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import date, timedelta
from importlib import resources

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from .embed import MiniLM
from .errors import NotFound, ParseError
from .parsers.opml import parse_opml, to_opml
from .parsers.url import feed_address
from .rank import digest_for, stored_digests, yesterday
from .render import clock, digests_atom, listen_url, safe_url
from .settings import Settings
from .status import status as service_status
from .store import Store
from .topics import Topic, topics
from .users import check_token, secret_key, verify_password

LOGIN_FAILURES, LOGIN_WINDOW = 5, 300.0  # at most 5 failed logins per client per 5 minutes


class App:
    """The app's state: settings, templates, the embedder and the login throttle."""

    def __init__(self, settings: Settings):
        self.settings = settings
        folder = str(resources.files("podsift") / "templates")
        self.templates = Environment(loader=FileSystemLoader(folder), autoescape=True)
        self.templates.globals["clock"] = clock
        self.templates.globals["highlight"] = highlight
        self.templates.globals["listen_url"] = listen_url
        self.templates.globals["safe_url"] = safe_url
        self.embedder = MiniLM()
        self.failures: dict[str, deque] = defaultdict(deque)
        self.lock = threading.Lock()

    def store(self) -> Store:
        return Store.open(self.settings.db_path)

    def page(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        uid = request.session.get("uid")
        if uid:
            with self.store() as store:
                context.setdefault("owner", store.owner() == uid)  # the status page is theirs
        html = self.templates.get_template(name).render(csrf=csrf_token(request), user=uid, **context)
        return HTMLResponse(html, status_code=status)

    def throttled(self, client: str) -> bool:
        """Whether this client has failed to log in too often lately."""
        with self.lock:
            recent = self.failures[client]
            while recent and recent[0] < time.monotonic() - LOGIN_WINDOW:
                recent.popleft()
            return len(recent) >= LOGIN_FAILURES

    def failed(self, client: str) -> None:
        with self.lock:
            self.failures[client].append(time.monotonic())


def highlight(snippet: str) -> Markup:
    """A search snippet, escaped, with its matched words (between \\x02 and \\x03) marked."""
    return Markup(str(escape(snippet)).replace("\x02", "<mark>").replace("\x03", "</mark>"))


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


async def form_checked(request: Request):
    """The request's form, or None when its CSRF token is missing or wrong."""
    form = await request.form()
    expected = request.session.get("csrf", "")
    return form if expected and hmac.compare_digest(str(form.get("csrf", "")), expected) else None


def create_app(settings: Settings) -> Starlette:
    """The podsift web app for one install."""
    app = App(settings)

    def login_required(handler):
        async def wrapped(request: Request):
            if not request.session.get("uid"):
                return RedirectResponse("/login", status_code=303)
            return await handler(request)

        return wrapped

    def posted(handler):
        """A login-required form handler that refuses a request without the session's CSRF token."""

        async def wrapped(request: Request):
            form = await form_checked(request)
            if form is None:
                return PlainTextResponse("The form was stale or forged: reload the page and try again.", 403)
            return await handler(request, form)

        return login_required(wrapped)

    async def login(request: Request):
        if request.method == "GET":
            return app.page(request, "login.html")
        client = request.client.host if request.client else "unknown"
        if app.throttled(client):
            return app.page(request, "login.html", 429, error="Too many failed logins: wait five minutes.")
        form = await form_checked(request)
        if form is None:
            return app.page(request, "login.html", 403, error="The form was stale: try again.")
        with app.store() as store:
            try:
                person = store.recipient_by_email(str(form.get("email", "")).strip())
            except NotFound:
                person = None
        if person is None or not verify_password(str(form.get("password", "")), person.password_hash):
            app.failed(client)
            return app.page(request, "login.html", 401, error="Wrong email or password.")
        request.session.clear()
        request.session["uid"] = person.id
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request, form):
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def home(request: Request):
        with app.store() as store:
            days = store.digest_days(request.session["uid"], 1)
        latest = days[0][0] if days else yesterday(settings.timezone).isoformat()
        return RedirectResponse(f"/digest/{latest}", status_code=303)

    async def digest(request: Request):
        try:
            day = date.fromisoformat(request.path_params["day"])
        except ValueError:
            return PlainTextResponse("Not a date: use /digest/YYYY-MM-DD.", 404)
        uid = request.session["uid"]
        with app.store() as store:
            found = digest_for(store, settings, uid, day, app.embedder)
            votes = store.votes(uid)
        return app.page(
            request,
            "digest.html",
            day=day.isoformat(),
            items=found.items,
            provisional=found.provisional,
            votes=votes,
            previous=(day - timedelta(days=1)).isoformat(),
            next=(day + timedelta(days=1)).isoformat(),
        )

    async def vote(request: Request, form):
        with app.store() as store:
            store.vote(request.session["uid"], int(request.path_params["id"]), 1 if form.get("vote") == "up" else -1)
        back = str(form.get("back", "/"))
        return RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/", status_code=303)

    async def feeds(request: Request, message: str = ""):
        with app.store() as store:
            shows = store.shows(request.session["uid"])
        return app.page(request, "feeds.html", shows=shows, message=message)

    async def add_feed(request: Request, form):
        try:
            url = feed_address(str(form.get("url", "")))
        except ParseError as exc:
            return await feeds(request, str(exc))
        with app.store() as store:
            store.subscribe(request.session["uid"], url)
        return await feeds(request, f"Subscribed to {url}; its episodes arrive with the next scan.")

    async def remove_feed(request: Request, form):
        with app.store() as store:
            store.unsubscribe(request.session["uid"], str(form.get("url", "")))
        return RedirectResponse("/feeds", status_code=303)

    async def import_opml(request: Request, form):
        upload = form.get("opml")
        try:
            found = parse_opml(await upload.read()) if upload else []
        except ParseError as exc:
            return await feeds(request, str(exc))
        with app.store() as store:
            added = sum(store.subscribe(request.session["uid"], url, title)[1] for title, url in found)
        return await feeds(request, f"Imported {added} new show(s) of {len(found)} in the file.")

    async def export_opml(request: Request):
        with app.store() as store:
            shows = store.shows(request.session["uid"])
        return Response(
            to_opml([(s.title, s.feed_url) for s in shows]),
            media_type="text/x-opml",
            headers={"Content-Disposition": 'attachment; filename="podsift.opml"'},
        )

    async def search(request: Request):
        query = request.query_params.get("q", "").strip()
        with app.store() as store:
            results = store.search(query, request.session["uid"]) if query else []
        return app.page(request, "search.html", query=query, results=results)

    async def episode(request: Request):
        uid = request.session["uid"]
        with app.store() as store:
            try:
                found = store.lookup_episode(str(request.path_params["id"]))
                text = store.transcript(found.id)
            except NotFound as exc:
                return PlainTextResponse(str(exc), 404)
            if found.show_id not in {s.id for s in store.shows(uid)}:
                return PlainTextResponse("Not one of your shows.", 404)
            spans = [(i.start, i.end) for i in store.insights(episode_ids=[found.id])]

        def insight_at(segment) -> bool:
            return any(start <= segment.start < end for start, end in spans)

        return app.page(request, "episode.html", episode=found, transcript=text, insight_at=insight_at)

    async def status_page(request: Request):
        with app.store() as store:
            if request.session["uid"] != store.owner():
                return PlainTextResponse("The status page is for the install's owner (its first account).", 404)
            found = service_status(store, settings)
        return app.page(request, "status.html", lines=found.lines, healthy=found.healthy)

    def user_topics(uid: int) -> list[Topic]:
        with app.store() as store:
            return topics(store.insights(recipient_id=uid))

    async def topic_list(request: Request):
        return app.page(request, "topics.html", topics=user_topics(request.session["uid"]))

    async def topic_page(request: Request):
        wanted = request.path_params["id"]
        found = [t for t in user_topics(request.session["uid"]) if wanted in {i.id for i in t.insights}]
        if not found:
            return PlainTextResponse("No such topic.", 404)
        return app.page(request, "topic.html", topic=found[0])

    async def unsubscribe(request: Request):
        recipient_id, given = int(request.path_params["rid"]), request.path_params["token"]
        if not check_token(secret_key(settings.home), "unsubscribe", recipient_id, given):
            return PlainTextResponse("This unsubscribe link is not valid.", 404)
        if request.method == "GET":
            return app.page(request, "unsubscribe.html", done=False)
        with app.store() as store:
            store.unsubscribe_email(recipient_id)
        return app.page(request, "unsubscribe.html", done=True)

    async def atom_feed(request: Request):
        recipient_id, given = int(request.path_params["rid"]), request.path_params["token"]
        if not check_token(secret_key(settings.home), "feed", recipient_id, given):
            return PlainTextResponse("This feed address is not valid.", 404)
        with app.store() as store:
            digests = stored_digests(store, recipient_id)
        return Response(
            digests_atom(settings.base_url, digests, str(request.url)), media_type="application/atom+xml; charset=utf-8"
        )

    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", posted(logout), methods=["POST"]),
        Route("/", login_required(home)),
        Route("/digest/{day}", login_required(digest)),
        Route("/insight/{id:int}/vote", posted(vote), methods=["POST"]),
        Route("/feeds", login_required(feeds)),
        Route("/feeds/add", posted(add_feed), methods=["POST"]),
        Route("/feeds/remove", posted(remove_feed), methods=["POST"]),
        Route("/feeds/import", posted(import_opml), methods=["POST"]),
        Route("/feeds/export", login_required(export_opml)),
        Route("/search", login_required(search)),
        Route("/topics", login_required(topic_list)),
        Route("/topics/{id:int}", login_required(topic_page)),
        Route("/episode/{id:int}", login_required(episode)),
        Route("/status", login_required(status_page)),
        Route("/unsubscribe/{rid:int}/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/feed/{rid:int}/{token}.atom", atom_feed),
    ]
    secure = settings.base_url.startswith("https://")
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=secret_key(settings.home).hex(),
            https_only=secure,
            same_site="lax",
            session_cookie="podsift_session",
        )
    ]
    return Starlette(routes=routes, middleware=middleware)
