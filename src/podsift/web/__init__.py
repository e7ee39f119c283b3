"""The web app: read digests and play each insight from its second, rate insights, manage shows.

Starlette with Jinja templates (autoescaped: every piece of feed text is escaped on the way out),
no front-end build, no inline script or style (the Content-Security-Policy forbids them). Every
page but login, unsubscribe and the Atom feed needs a session (`guard.py`: sessions in the store,
CSRF tokens, the login limit, the headers). The unsubscribe link in email works without logging
in, authenticated by its signed token, accepts the one-click POST of RFC 8058, and can be undone.

Handlers are plain functions that Starlette runs in its thread pool: they wait on SQLite and run
ONNX, and on the event loop one slow request would hold up every other.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from importlib import resources
from zoneinfo import available_timezones

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..deliver import feed_url
from ..embed import MiniLM
from ..errors import ConfigError, NotFound, ParseError
from ..models import Episode, Show
from ..net import Fetcher
from ..parsers.opml import MAX_BYTES as MAX_OPML_BYTES
from ..parsers.opml import parse_opml, to_opml
from ..parsers.url import feed_address
from ..rank import digest_day, digest_for, stored_digests, yesterday
from ..render import (
    clock,
    digest_json,
    digest_markdown,
    digests_atom,
    episode_markdown,
    listen_url,
    readwise_csv,
    safe_url,
)
from ..scan import fetch_feed, settle
from ..settings import Settings, clock_time, zone
from ..status import status as service_status
from ..store import Store, open_store
from ..topics import Topic, topics
from ..users import check_token, hash_password, secret_key, verify_password
from .guard import (
    SESSION_IDLE,
    LoginLimits,
    SecurityHeaders,
    begin_session,
    client_address,
    csrf_token,
    end_session,
    form_checked,
    session_user,
)

SHOWS_PER_PAGE = 100
EXPORTS = {"md": "text/markdown", "csv": "text/csv", "json": "application/json"}
ZONES = sorted(available_timezones())
MAX_INTERESTS = 20


class App:
    """The app's state: settings, templates, the embedder and the login limits."""

    def __init__(self, settings: Settings):
        self.settings = settings
        folder = str(resources.files("podsift") / "templates")
        self.templates = Environment(loader=FileSystemLoader(folder), autoescape=True)
        self.templates.globals.update(clock=clock, highlight=highlight, listen_url=listen_url, safe_url=safe_url)
        self.embedder = MiniLM()
        self.limits = LoginLimits(settings)

    def store(self) -> Store:
        return open_store(self.settings)

    def page(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        state = request.state  # behind a login: who, whether they own the install, whether their email is off
        context.update(user=getattr(state, "uid", None), owner=getattr(state, "owner", False))
        context.setdefault("email_off", getattr(state, "email_off", False))
        html = self.templates.get_template(name).render(csrf=csrf_token(request), **context)
        return HTMLResponse(html, status_code=status)

    def problem(self, request: Request, status: int, message: str) -> HTMLResponse:
        """A 4xx page that says what was wrong and what is valid."""
        return self.page(request, "problem.html", status, message=message)


def exported(body: str, fmt: str, name: str) -> Response:
    """An export as a file to save (JSON shown in place, for scripts)."""
    disposition = "inline" if fmt == "json" else f'attachment; filename="{name}.{fmt}"'
    return Response(body, media_type=f"{EXPORTS[fmt]}; charset=utf-8", headers={"Content-Disposition": disposition})


def highlight(snippet: str) -> Markup:
    """A search snippet, escaped, with its matched words (between \\x02 and \\x03) marked."""
    return Markup(str(escape(snippet)).replace("\x02", "<mark>").replace("\x03", "</mark>"))


def create_app(settings: Settings) -> Starlette:
    """The podsift web app for one install."""
    app = App(settings)

    def who(request: Request) -> int | None:
        """The live session's person, with what every page shows of them, on `request.state`."""
        with app.store() as store:
            uid = session_user(request, store)
            if uid:
                me = store.people.get(uid)
                request.state.owner = store.people.owner() == uid  # the status page is theirs
                request.state.email_off = bool(me.email and me.unsubscribed_at)
        return uid

    async def signed_in(request: Request) -> bool:
        """Whether the request belongs to a live session; its person's id goes to `request.state.uid`."""
        request.state.uid = await run_in_threadpool(who, request)
        if not request.state.uid:
            request.session.pop("sid", None)  # ended or expired: the cookie forgets it
        return bool(request.state.uid)

    def login_required(handler):
        """`handler(request)`, run in the thread pool for a live session; else the login page."""

        async def wrapped(request: Request):
            if not await signed_in(request):
                return RedirectResponse("/login", status_code=303)
            return await run_in_threadpool(handler, request)

        return wrapped

    def posted(handler):
        """A login-required form handler, `handler(request, form)`, that refuses a request without
        the session's CSRF token."""

        async def wrapped(request: Request):
            if not await signed_in(request):
                return RedirectResponse("/login", status_code=303)
            form = await form_checked(request)
            if form is None:
                return PlainTextResponse("The form was stale or forged: reload the page and try again.", 403)
            return await run_in_threadpool(handler, request, form)

        return wrapped

    async def login(request: Request):
        if request.method == "GET":
            return app.page(request, "login.html")
        form = await form_checked(request)
        if form is None:
            return app.page(request, "login.html", 403, error="The form was stale: try again.")
        return await run_in_threadpool(log_in, request, form)

    def log_in(request: Request, form):
        address = client_address(request, app.limits.trusted)
        email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
        if app.limits.refused(address, email):
            return app.page(request, "login.html", 429, error="Too many failed logins: wait five minutes.")
        with app.store() as store:
            try:
                person = store.people.by_email(email)
            except NotFound:
                person = None
            if not verify_password(password, person.password_hash if person else None) or person is None:
                app.limits.failed(address, email)
                return app.page(request, "login.html", 401, error="Wrong email or password.")
            begin_session(request, store, person.id)
        return RedirectResponse("/", status_code=303)

    def logout(request: Request, form):
        with app.store() as store:
            end_session(request, store)
        return RedirectResponse("/login", status_code=303)

    def home(request: Request):
        with app.store() as store:
            days = store.digests.days(request.state.uid, 1)
            timezone = store.people.get(request.state.uid).timezone or settings.timezone
        latest = days[0][0] if days else yesterday(timezone).isoformat()
        return RedirectResponse(f"/digest/{latest}", status_code=303)

    def day_of(request: Request, store: Store) -> tuple[date, str]:
        """The day in the path and the person's time zone; NotFound, saying what is valid, for any other."""
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

    def my_show(request: Request, store: Store) -> Show:
        """The show in the path, if the person follows it; else NotFound."""
        mine = {show.id: show for show in store.shows.followed(request.state.uid)}
        if request.path_params["id"] not in mine:
            raise NotFound("Not one of your shows: the Shows page lists them.")
        return mine[request.path_params["id"]]

    def digest(request: Request):
        uid = request.state.uid
        with app.store() as store:
            try:
                day, timezone = day_of(request, store)
            except NotFound as exc:
                return app.problem(request, 404, str(exc))
            found = digest_for(store, settings, uid, day, app.embedder)
            votes = store.insights.votes(uid)
        today = datetime.now(zone(timezone)).date()
        return app.page(
            request,
            "digest.html",
            day=day.isoformat(),
            items=found.items,
            provisional=found.provisional,
            votes=votes,
            previous=(day - timedelta(days=1)).isoformat() if day > date(1970, 1, 1) else "",
            next=(day + timedelta(days=1)).isoformat() if day < today else "",
        )

    def digest_export(request: Request):
        fmt = request.path_params["fmt"]
        if fmt not in EXPORTS:
            return app.problem(request, 404, "A digest is exported as .md, .csv (for Readwise) or .json.")
        with app.store() as store:
            try:
                day, _ = day_of(request, store)
            except NotFound as exc:
                return app.problem(request, 404, str(exc))
            items = digest_for(store, settings, request.state.uid, day, app.embedder).items
        body = {
            "md": lambda: digest_markdown(day.isoformat(), items),
            "csv": lambda: readwise_csv([item.insight for item in items], day.isoformat()),
            "json": lambda: digest_json(day.isoformat(), items),
        }[fmt]()
        return exported(body, fmt, f"podsift-{day.isoformat()}")

    def episode_export(request: Request):
        fmt = request.path_params["fmt"]
        if fmt not in ("md", "csv"):
            return app.problem(request, 404, "An episode's insights are exported as .md or .csv (for Readwise).")
        with app.store() as store:
            try:
                found = my_episode(request, store)
            except NotFound as exc:
                return app.problem(request, 404, str(exc))
            insights = store.insights.matching(episode_ids=[found.id])
        day = found.published_at.date().isoformat() if found.published_at else ""
        if fmt == "md":
            return exported(episode_markdown(found, insights), fmt, f"podsift-episode-{found.id}")
        return exported(readwise_csv(insights, day), fmt, f"podsift-episode-{found.id}")

    def vote(request: Request, form):
        with app.store() as store:
            try:
                store.insights.vote(
                    request.state.uid, int(request.path_params["id"]), 1 if form.get("vote") == "up" else -1
                )
            except NotFound as exc:
                return app.problem(request, 404, str(exc))
        back = str(form.get("back", "/"))
        return RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/", status_code=303)

    def feeds(request: Request, message: str = ""):
        try:
            number = int(request.query_params.get("page", "1"))
        except ValueError:
            number = 0
        with app.store() as store:
            shows = store.shows.followed(request.state.uid)
        pages = max(1, -(-len(shows) // SHOWS_PER_PAGE))
        if not 1 <= number <= pages:
            return app.problem(
                request, 404, f"There is no page {request.query_params.get('page')}: pages 1 to {pages}."
            )
        shown = shows[(number - 1) * SHOWS_PER_PAGE : number * SHOWS_PER_PAGE]
        context = {"total": len(shows), "page": number, "pages": pages, "message": message}
        return app.page(request, "feeds.html", shows=shown, **context)

    def add_feed(request: Request, form):
        try:
            url = feed_address(str(form.get("url", "")))
        except ParseError as exc:
            return feeds(request, str(exc))
        with app.store() as store:
            store.shows.subscribe(request.state.uid, url)
        return feeds(request, f"Subscribed to {url}; its episodes arrive with the next scan.")

    def show_page(request: Request, message: str = ""):
        with app.store() as store:
            try:
                show = my_show(request, store)
            except NotFound as exc:
                return app.problem(request, 404, str(exc))
            episodes = list(reversed(store.episodes.matching(show_id=show.id)))[:100]
        return app.page(request, "show.html", show=show, episodes=episodes, message=message)

    def check_show(request: Request, form):
        with app.store() as store:
            try:
                show = my_show(request, store)
            except NotFound as exc:
                return app.problem(request, 404, str(exc))
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
        with app.store() as store:
            try:
                show = my_show(request, store)
            except NotFound as exc:
                return app.problem(request, 404, str(exc))
        return app.page(request, "remove.html", show=show)

    def remove_feed(request: Request, form):
        with app.store() as store:
            try:
                store.shows.unsubscribe(request.state.uid, str(form.get("url", "")))
            except NotFound as exc:
                return feeds(request, str(exc))
        return RedirectResponse("/feeds", status_code=303)

    def import_opml(request: Request, form):
        upload = form.get("opml")
        try:
            found = parse_opml(upload.file.read(MAX_OPML_BYTES + 1)) if upload and hasattr(upload, "file") else []
        except ParseError as exc:
            return feeds(request, str(exc))
        with app.store() as store:
            added = sum(store.shows.subscribe(request.state.uid, url, title)[1] for title, url in found)
        return feeds(request, f"Imported {added} new show(s) of {len(found)} in the file.")

    def export_opml(request: Request):
        with app.store() as store:
            shows = store.shows.followed(request.state.uid)
        return Response(
            to_opml([(s.title, s.feed_url) for s in shows]),
            media_type="text/x-opml",
            headers={"Content-Disposition": 'attachment; filename="podsift.opml"'},
        )

    def search(request: Request):
        query = request.query_params.get("q", "").strip()
        with app.store() as store:
            try:
                results = store.insights.search(query, request.state.uid) if query else []
            except ParseError as exc:
                return app.page(request, "search.html", 400, query=query[:200], results=[], error=str(exc))
        return app.page(request, "search.html", query=query, results=results)

    def episode(request: Request):
        with app.store() as store:
            try:
                found = my_episode(request, store)
                text = store.transcripts.get(found.id)
            except NotFound as exc:
                return app.problem(request, 404, str(exc))
            spans = [(i.start, i.end) for i in store.insights.matching(episode_ids=[found.id])]

        def insight_at(segment) -> bool:
            return any(start <= segment.start < end for start, end in spans)

        return app.page(request, "episode.html", episode=found, transcript=text, insight_at=insight_at)

    def settings_page(request: Request, message: str = "", error: str = "", status: int = 200):
        with app.store() as store:
            me = store.people.get(request.state.uid)
        return app.page(
            request,
            "settings.html",
            status,
            me=me,
            zones=ZONES,
            install=settings,
            atom=feed_url(settings, me.id),
            message=message,
            error=error,
        )

    def save_settings(request: Request, form):
        timezone, at = str(form.get("timezone", "")).strip(), str(form.get("delivery_time", "")).strip()
        interests = [line.strip() for line in str(form.get("interests", "")).splitlines() if line.strip()]
        try:
            if timezone:
                zone(timezone)
            if at:
                clock_time(at)
        except ConfigError as exc:
            return settings_page(request, error=str(exc), status=400)
        if len(interests) > MAX_INTERESTS or any(len(i) > 100 for i in interests):
            wrong = f"At most {MAX_INTERESTS} interests, of up to 100 characters each."
            return settings_page(request, error=wrong, status=400)
        with app.store() as store:
            store.people.set_schedule(request.state.uid, timezone, at)
            store.people.set_interests(request.state.uid, interests)
            if form.get("email") == "on":
                store.people.resume_email(request.state.uid)
            else:
                store.people.stop_email(request.state.uid)
        request.state.email_off = form.get("email") != "on"
        return settings_page(request, message="Saved. Digests from the next one on follow these settings.")

    def change_password(request: Request, form):
        current, new, again = (str(form.get(k, "")) for k in ("current", "new", "again"))
        with app.store() as store:
            me = store.people.get(request.state.uid)
            if not verify_password(current, me.password_hash):
                return settings_page(request, error="The current password is wrong: nothing changed.", status=400)
            if not new or new != again:
                wrong = "The new password was empty, or not typed the same twice: nothing changed."
                return settings_page(request, error=wrong, status=400)
            store.people.set_password(me.id, hash_password(new))  # ends every session, this one too...
            begin_session(request, store, me.id)  # ...so this browser gets a new one
        return settings_page(request, message="Password changed; every other session is logged out.")

    def owner_only(handler):
        """`handler(request, store, ...)` for the install's owner; a 404 for anyone else."""

        def wrapped(request: Request, *args):
            with app.store() as store:
                if request.state.uid != store.people.owner():
                    return app.problem(request, 404, "This page is for the install's owner (its first account).")
                return handler(request, store, *args)

        return wrapped

    @owner_only
    def admin(request: Request, store: Store, message: str = ""):
        found = service_status(store, settings)
        people = store.people.overview()
        emails = {person.id: person.email or "(the command line's default)" for person, _, _ in people}
        follows = {
            person.id: [s.title or s.feed_url for s in store.shows.followed(person.id)] for person, _, _ in people
        }
        return app.page(
            request,
            "admin.html",
            people=people,
            follows=follows,
            install=settings,
            outbox=store.outbox.all()[:200],
            emails=emails,
            shows=store.shows.followed(),
            lines=found.lines,
            healthy=found.healthy,
            message=message,
        )

    @owner_only
    def retry(request: Request, store: Store, form):
        try:
            delivery = store.outbox.retry_now(int(request.path_params["id"]))
        except NotFound as exc:
            return app.problem(request, 404, str(exc))
        if delivery.status != "pending":
            return admin(request, f"That email of {delivery.day} is {delivery.status}: there is nothing to retry.")
        return admin(
            request,
            f"The email of {delivery.day} is queued again: `podsift serve` sends it within a "
            "minute, or the next `podsift run` does.",
        )

    def email_on(request: Request, form):
        with app.store() as store:
            store.people.resume_email(request.state.uid)
        return RedirectResponse("/", status_code=303)

    def user_topics(uid: int) -> list[Topic]:
        with app.store() as store:
            return topics(store.insights.matching(recipient_id=uid))

    def topic_list(request: Request):
        return app.page(request, "topics.html", topics=user_topics(request.state.uid))

    def topic_page(request: Request):
        wanted = request.path_params["id"]
        found = [t for t in user_topics(request.state.uid) if wanted in {i.id for i in t.insights}]
        if not found:
            return app.problem(request, 404, "No such topic: the topics page lists them.")
        return app.page(request, "topic.html", topic=found[0])

    def signed(request: Request, purpose: str) -> int | None:
        """The recipient a link signed for `purpose` was made for, or None for a forged one."""
        recipient_id, given = int(request.path_params["rid"]), request.path_params["token"]
        return recipient_id if check_token(secret_key(settings.home), purpose, recipient_id, given) else None

    def unsubscribe(request: Request):
        recipient_id = signed(request, "unsubscribe")
        if recipient_id is None:
            return PlainTextResponse("This unsubscribe link is not valid.", 404)
        if request.method == "GET":
            return app.page(request, "unsubscribe.html", done=False)
        with app.store() as store:
            store.people.stop_email(recipient_id)
        again = request.url.path.replace("/unsubscribe/", "/resubscribe/", 1)
        return app.page(request, "unsubscribe.html", done=True, resubscribe=again)

    def resubscribe(request: Request):
        recipient_id = signed(request, "unsubscribe")  # the same link's token undoes what it did
        if recipient_id is None:
            return PlainTextResponse("This link is not valid.", 404)
        with app.store() as store:
            store.people.resume_email(recipient_id)
        return app.page(request, "unsubscribe.html", done=False, back_on=True)

    def atom_feed(request: Request):
        recipient_id = signed(request, "feed")
        if recipient_id is None:
            return PlainTextResponse("This feed address is not valid.", 404)
        with app.store() as store:
            digests = stored_digests(store, recipient_id)
        return Response(
            digests_atom(settings.base_url, digests, str(request.url)), media_type="application/atom+xml; charset=utf-8"
        )

    async def not_found(request: Request, exc):
        return PlainTextResponse("Nothing here: the digest is at /.", 404)

    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", posted(logout), methods=["POST"]),
        Route("/", login_required(home)),
        Route("/digest/{day}.{fmt}", login_required(digest_export)),
        Route("/digest/{day}", login_required(digest)),
        Route("/episode/{id:int}.{fmt}", login_required(episode_export)),
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
        Route("/show/{id:int}", login_required(show_page)),
        Route("/show/{id:int}/check", posted(check_show), methods=["POST"]),
        Route("/show/{id:int}/remove", login_required(confirm_remove)),
        Route("/settings", login_required(settings_page)),
        Route("/settings", posted(save_settings), methods=["POST"]),
        Route("/settings/password", posted(change_password), methods=["POST"]),
        Route("/admin", login_required(admin)),
        Route("/admin/outbox/{id:int}/retry", posted(retry), methods=["POST"]),
        Route("/status", login_required(admin)),  # its old address
        Route("/email/on", posted(email_on), methods=["POST"]),
        Route("/unsubscribe/{rid:int}/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/resubscribe/{rid:int}/{token}", resubscribe, methods=["POST"]),
        Route("/feed/{rid:int}/{token}.atom", atom_feed),
        Mount("/static", StaticFiles(directory=str(resources.files("podsift") / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret_key(settings.home).hex(),
            https_only=settings.base_url.startswith("https://"),
            same_site="lax",
            session_cookie="podsift_session",
            max_age=int(SESSION_IDLE.total_seconds()),
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
