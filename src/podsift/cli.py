"""The `podsift` command. Each command is a thin shell over the stages: settings in, store open,
stage called, result printed. Data goes to stdout, progress and messages to stderr."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from . import __version__
from .deliver.mail import SmtpServer, feed_url, topic_feed_url
from .deliver.rank import day_over, days_bounds, digest_day, digest_for, stored_digests, yesterday
from .deliver.render import (
    clock,
    digest_html,
    digest_json,
    digest_markdown,
    digest_text,
    digests_atom,
    insights_json,
    insights_text,
    topic_html,
    topic_json,
    topic_markdown,
    topic_text,
    transcript_json,
    transcript_text,
    transcript_vtt,
)
from .deliver.topic import LIMIT as TOPIC_LIMIT
from .deliver.topic import topic_digest
from .errors import ConfigError, PodsiftError
from .insights.cards import edit_cards
from .insights.embed import MiniLM
from .insights.extract import Extractor
from .net import Fetcher, ModelEndpoint
from .parsers.opml import MAX_BYTES as MAX_OPML_BYTES
from .parsers.opml import parse_opml, to_opml
from .parsers.url import feed_address
from .pipeline import Context, ScanReport, scan
from .progress import Reporter, RichReporter
from .schedule import Scheduler, daily_job
from .settings import Settings, clock_time, load_settings, zone
from .status import status as read_status
from .store import EPISODE_STATES, Store, open_store
from .transcribe.whisper import WhisperTranscriber
from .users import hash_password

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class PodsiftGroup(click.Group):
    """Turns a PodsiftError into one clear line and exit status 1, instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PodsiftError as exc:  # a StoreError too: a full disk or a read-only home, met mid-stage
            self.fail_with(exc)

    @staticmethod
    def fail_with(exc: PodsiftError):
        err.print("[red]error:[/red] " + escape(str(exc)), markup=True)
        sys.exit(1)


@click.group(cls=PodsiftGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="podsift")
def main():
    """podsift watches your podcast feeds, transcribes new episodes on this machine and finds the
    statements worth knowing.

    Start with `podsift demo` to see it work on a bundled feed, then `podsift subscribe` to your
    own shows (feed URLs or your podcast app's OPML export) and `podsift scan`.

    Data lives in $PODSIFT_HOME (default: ~/.local/share/podsift on Linux); settings in
    $PODSIFT_HOME/podsift.toml or PODSIFT_* environment variables (see the README).
    """
    for console in (out, err):
        if not console.is_terminal:  # piped or captured: keep URLs whole rather than wrapped at 80 columns
            console.width = 200


def _store(settings: Settings) -> Store:
    return open_store(settings)


FOR_HELP = "Act for this person (an email `podsift user list` shows); default: the install's owner."
for_one = click.option("--for", "for_email", metavar="EMAIL", help=FOR_HELP)
for_many = click.option("--for", "for_emails", metavar="EMAIL", multiple=True, help=FOR_HELP + " Repeat for several.")


def digest_format(what: str):
    """The --format option of the commands that print a digest."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "markdown", "html", "json"]),
        default="text",
        show_default=True,
        help=f"How to print the {what}.",
    )


def _person(store: Store, email: str | None) -> int:
    """The recipient `--for EMAIL` names, or the install's owner without it."""
    return store.people.by_email(email).id if email else store.people.local()


def _people(store: Store, emails) -> list[int]:
    """The recipients a repeated `--for` names, or the install's owner without it."""
    return [_person(store, e) for e in emails] or [store.people.local()]


@main.command()
@click.argument("sources", nargs=-1, required=True)
@for_many
def subscribe(sources, for_emails):
    """Follow podcasts: feed URLs, or OPML files exported from a podcast app.

    \b
    podsift subscribe https://example.com/feed.xml
    podsift subscribe subscriptions.opml
    podsift subscribe --for ada@example.org --for bo@example.org team.opml
    """
    settings = load_settings()
    feeds = _feeds_from(sources)
    with _store(settings) as store:
        for recipient in _people(store, for_emails):
            added = sum(store.shows.subscribe(recipient, url, title)[1] for title, url in feeds)
            who = f"{store.people.get(recipient).email}: s" if for_emails else "S"
            err.print(f"{who}ubscribed to {added} new feed(s) ({len(feeds) - added} already followed).")
    err.print("Next: `podsift scan`.")


def _feeds_from(sources) -> list[tuple[str, str]]:
    feeds, seen = [], set()
    for source in sources:
        if source.lower().startswith(("http:", "https:")):
            found = [("", feed_address(source))]
        elif Path(source).is_file():
            try:
                with open(source, "rb") as f:
                    found = parse_opml(f.read(MAX_OPML_BYTES + 1))  # never more than the parser takes
            except PodsiftError as exc:
                raise PodsiftError(f"{source}: {exc}") from None
        else:
            raise PodsiftError(f"{source!r} is neither an http(s) feed URL nor an OPML file that exists")
        for title, url in found:
            if url not in seen:
                seen.add(url)
                feeds.append((title, url))
    return feeds


@main.command()
@click.argument("urls", nargs=-1, required=True)
@for_many
def unsubscribe(urls, for_emails):
    """Stop following feeds (by feed URL, as `podsift feeds` shows it).

    Transcripts already made are kept: nothing is lost if you follow the show again."""
    settings = load_settings()
    with _store(settings) as store:
        for recipient in _people(store, for_emails):
            who = store.people.get(recipient).email if for_emails else "You"
            for url in urls:
                if store.shows.unsubscribe(recipient, url):
                    err.print(f"{who}: unsubscribed from {url}" if for_emails else f"Unsubscribed from {url}")
                else:
                    err.print(f"{who} {'was' if for_emails else 'were'} not subscribed to {url}")


@main.command()
@for_one
def feeds(for_email):
    """List your subscriptions: title, episodes, last check and any error."""
    settings = load_settings()
    with _store(settings) as store:
        shows = store.shows.followed(_person(store, for_email))
    if not shows:
        err.print("No subscriptions yet: `podsift subscribe URL` or `podsift subscribe subscriptions.opml`.")
        return
    table = Table("Title", "Episodes", "Last check", "Status", "Feed URL")
    for show in shows:
        # Text(), not markup: titles and errors come from strangers' feeds.
        status = Text("paused " if show.paused else "", style="red")
        status.append(
            show.error or ("ok" if show.last_checked_at else "not checked yet"), style="red" if show.error else ""
        )
        if show.next_check_at and not show.paused:
            status.append(f" (next try {show.next_check_at.replace('T', ' ')[:16]})")
        table.add_row(
            Text(show.title or "(unknown until scanned)"),
            str(show.episode_count),
            (show.last_checked_at or "never").replace("T", " ")[:16],
            status,
            Text(show.feed_url),
        )
    out.print(table)


@main.command("export-opml")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
@for_one
def export_opml(output, for_email):
    """Write your subscriptions as OPML, for another podcast app or a backup."""
    settings = load_settings()
    with _store(settings) as store:
        shows = store.shows.followed(_person(store, for_email))
    data = to_opml([(s.title, s.feed_url) for s in shows])
    if output:
        Path(output).write_bytes(data)
        err.print(f"Wrote {len(shows)} feed(s) to {output}")
    else:
        sys.stdout.buffer.write(data)


@main.command("scan")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Also take episodes published on or after this date (YYYY-MM-DD). Without it a new feed "
    "gives its few most recent episodes, so a long back catalogue is not transcribed.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option(
    "--here",
    is_flag=True,
    help="With a Postgres store: do the work in this process, as on SQLite, instead of queueing it for workers.",
)
@click.option("--no-wait", is_flag=True, help="With a Postgres store: queue the polls and return at once.")
def scan_command(since, quiet, here, no_wait):
    """Poll every feed, download new episodes and transcribe them.

    Uses the publisher's transcript where the feed links one, speech-to-text otherwise.
    Safe to interrupt: the next scan carries on where this one stopped. With a Postgres store
    (database_url), the work goes to the queue and `podsift worker` processes, on any machines,
    do it; this command waits for them, with progress."""
    settings = load_settings()
    since = since.replace(tzinfo=timezone.utc) if since else None
    if settings.database_url and not here:
        return queue_scan(settings, quiet, wait=not no_wait, since=since)
    report = run_scan(settings, since, quiet)
    print_report(report)


def queue_scan(settings: Settings, quiet: bool, wait: bool, since: datetime | None = None) -> None:
    """A scan by the workers: queue every due feed's poll and follow the jobs it leads to."""
    from .tasks import enqueue_scan

    reporter = Reporter() if quiet or not err.is_terminal else RichReporter(err)
    cards = None
    try:
        total, left = enqueue_scan(settings, reporter, wait, since)
        with _store(settings) as store:
            cards = _edit_found(settings, store, reporter, since) if wait else None
            counts = store.episodes.counts()
    finally:
        reporter.close()
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none yet"
    done = f"{total} job(s) done by the workers" if wait else f"{left} job(s) queued for the workers"
    out.print(Text(f"{done}; episodes: {states}"))
    if cards is not None:
        out.print(Text(f"cards edited by the model: {cards.counts()}"))
        if cards.failed:
            out.print("[red]failed[/red] " + escape(f"language model: {cards.failure()}"), markup=True)


@main.command("worker")
@click.option(
    "--queues",
    default="feeds,transcribe,extract,deliver",
    show_default=True,
    help="Which work this worker takes: feeds (polling), transcribe (transcripts and speech-to-text), extract, "
    "deliver (each recipient's day, which `podsift serve` queues at their delivery time).",
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True, help="Jobs at once.")
@click.option(
    "--heartbeat",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="Seconds between signs of life; a worker silent for three is taken for dead and its jobs handed on.",
)
@click.option(
    "--retry-wait",
    type=click.FloatRange(0, 86400),
    default=60.0,
    show_default=True,
    help="Seconds before an episode that failed is tried again, doubled at each attempt ([scan] max_attempts).",
)
def worker_command(queues, concurrency, heartbeat, retry_wait):
    """Do queued work for a Postgres store, until stopped (Ctrl-C or SIGTERM: the jobs at hand finish).

    Run as many as you like, on any machines that reach the store; they need no shared disk (a
    worker that transcribes an episode downloads its audio). `podsift scan` queues the work."""
    import logging

    from .tasks import QUEUES, run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    chosen = tuple(q.strip() for q in queues.split(",") if q.strip())
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown or not chosen:
        raise ConfigError(f"unknown queue {unknown[0] if unknown else queues!r}; the queues are {', '.join(QUEUES)}")
    run_worker(load_settings(), chosen, concurrency, heartbeat, retry_wait)


def run_scan(settings: Settings, since: datetime | None, quiet: bool = False) -> ScanReport:
    """Open the store, the network and the transcriber, and scan."""
    reporter = Reporter() if quiet or not err.is_terminal else RichReporter(err)
    with _store(settings) as store, Fetcher(settings) as fetcher:
        ctx = Context(settings, store, fetcher, WhisperTranscriber(settings.transcribe), Extractor(), reporter)
        try:
            return scan(ctx, since)
        except KeyboardInterrupt:
            err.print("Interrupted. Nothing is lost: `podsift scan` carries on from here.")
            sys.exit(130)


def print_report(report: ScanReport) -> None:
    """The closing summary of a scan."""
    feeds = report.feeds
    table = Table("Scan", "", title="podsift scan", show_header=False)
    table.add_row("feeds checked", str(len(feeds)))
    table.add_row("unchanged (304)", str(sum(f.outcome == "unchanged" for f in feeds)))
    table.add_row("feeds failed", str(sum(f.outcome == "failed" for f in feeds)))
    table.add_row("new episodes", str(report.new_episodes))
    table.add_row("publisher transcripts reused", str(report.reused))
    table.add_row("episodes transcribed", str(report.transcribed))
    table.add_row("episodes failed", str(len(report.failures)))
    if report.deferred:
        table.add_row("downloads deferred (no room)", str(report.deferred))
    if report.waited_for:
        table.add_row("waited for", ", ".join(sorted(report.waited_for)) + " (another podsift at work)")
    table.add_row("episodes with insights found", str(report.extracted))
    table.add_row("insights found", str(report.insights))
    if report.cards is not None:
        cards = report.cards
        table.add_row("cards edited by the model", cards.counts())
        table.add_row("model tokens and time", f"{cards.tokens} tokens, {cards.seconds:.1f} s")
    table.add_row("audio transcribed", clock(report.audio_seconds))
    table.add_row("wall time", f"{report.wall_seconds:.1f} s")
    table.add_row("speed", f"{report.speed:.1f} audio s per wall s")
    out.print(table)
    problems = [(f.show.title, f.message) for f in feeds if f.outcome == "failed"]
    if report.cards is not None and report.cards.failed:
        problems.append(("language model", report.cards.failure()))
    for what, why in problems + report.failures:
        out.print("[red]failed[/red] " + escape(f"{what}: {why}" if what else why), markup=True)


@main.command()
@click.option(
    "--state",
    multiple=True,
    type=click.Choice(EPISODE_STATES),
    help="Only episodes in this state (repeat for several).",
)
def episodes(state):
    """List stored episodes with their id, state and show."""
    settings = load_settings()
    with _store(settings) as store:
        rows = store.episodes.matching(states=tuple(state), followed=True)
    table = Table("Id", "Published", "Show", "Episode", "State")
    for e in rows:
        when = e.published_at.date().isoformat() if e.published_at else ""
        state_text = f"failed ({e.attempts}x): {e.error}" if e.state == "failed" else e.state
        table.add_row(str(e.id), when, Text(e.show_title), Text(e.title), Text(state_text))
    out.print(table)


@main.command()
@click.argument("episode")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "vtt", "json"]),
    default="text",
    show_default=True,
    help="text: a line a sentence with its time; vtt: WebVTT captions; json: segments with speakers.",
)
def transcript(episode, fmt):
    """Print one episode's transcript. EPISODE is its id, guid or the start of its title."""
    settings = load_settings()
    with _store(settings) as store:
        found = store.episodes.lookup(episode)
        text = store.transcripts.get(found.id)
    rendered = {
        "text": lambda: transcript_text(text),
        "vtt": lambda: transcript_vtt(text),
        "json": lambda: transcript_json(found, text),
    }[fmt]()
    sys.stdout.write(rendered)


@main.command()
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day whose episodes to digest (YYYY-MM-DD, in the configured time zone). Default: yesterday.",
)
@digest_format("digest")
@click.option("--rebuild", is_flag=True, help="Build the digest again instead of returning the stored one.")
@for_one
def digest(day, fmt, rebuild, for_email):
    """The day's top insights across your shows, at most 5, each linked to the second it was said.

    A day's digest is fixed once the day is over and every feed has been checked since (or once it
    is emailed): asking again returns the same one. Before that it is provisional, built afresh
    each time and not stored. It never repeats an idea an earlier digest sent, names every show
    an idea was heard on that day, and takes at most two items from one show. A quiet day gives a
    shorter digest rather than filler."""
    settings = load_settings()
    with _store(settings) as store:
        person = store.people.get(_person(store, for_email))
        timezone = person.timezone or settings.timezone  # "yesterday" is the person's own
        when = digest_day(day.date(), timezone) if day else yesterday(timezone)
        found = digest_for(store, settings, person.id, when, MiniLM(), rebuild)
    if found.provisional:
        err.print(Text(f"provisional: {found.provisional}. It may still change.", style="yellow"))
    if fmt == "text":  # followed subjects' sections too; the other formats keep the digest's own shape
        sys.stdout.write(digest_text(when.isoformat(), found.items, found.sections))
    else:
        sys.stdout.write(render_digest(when.isoformat(), found.items, fmt))


def render_digest(day: str, items, fmt: str) -> str:
    """A digest in one of the `digest --format` choices."""
    render = {"text": digest_text, "markdown": digest_markdown, "html": digest_html, "json": digest_json}[fmt]
    return render(day, items)


@main.command()
@click.argument("subject")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="From this day (YYYY-MM-DD, in the install's time zone); default: a week before --until.",
)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="To this day, inclusive; default: today.")
@click.option("--limit", default=TOPIC_LIMIT, show_default=True, type=click.IntRange(1, 100), help="At most this many.")
@digest_format("topic digest")
def topic(subject, since, until, limit, fmt):
    """What every show the install follows said about SUBJECT, best first, with show, episode
    and the second it was said.

    Matched by meaning, not shared words ("large language models" finds "LLMs"; "memory loss"
    leaves out computer memory). An item must be an insight podsift would send and be about the
    subject; the same idea told on two shows comes once, naming both. A subject nobody talked
    about gives an empty digest. To get one in your email, follow it: `podsift user add EMAIL
    --topic SUBJECT`."""
    settings = load_settings()
    last = until.date() if until else datetime.now(zone(settings.timezone)).date()
    first = since.date() if since else last - timedelta(days=6)
    if first > last:
        raise PodsiftError(f"--since {first} is after --until {last}: give the earlier day first")
    start, end = days_bounds(first, last, settings.timezone)
    with _store(settings) as store:
        items = topic_digest(store, MiniLM(), subject, start, end, limit)
    render = {"text": topic_text, "markdown": topic_markdown, "html": topic_html, "json": topic_json}[fmt]
    sys.stdout.write(render(" ".join(subject.split()), first.isoformat(), last.isoformat(), items))


@main.command()
@click.option("--episode", "ref", help="Only this episode (id, guid or the start of its title).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format."
)
@click.option("--explain", is_flag=True, help="Show why each insight scored as it did.")
@click.option("--for", "for_email", metavar="EMAIL", help="Only the shows this person follows; default: every show.")
def insights(ref, fmt, explain, for_email):
    """Every episode's insights, best first, with their score (and its reasons with --explain)."""
    settings = load_settings()
    with _store(settings) as store:
        person = store.people.by_email(for_email).id if for_email else None
        if ref:
            episodes = [store.episodes.lookup(ref)]
            if person and episodes[0].show_id not in {show.id for show in store.shows.followed(person)}:
                raise PodsiftError(f"{for_email} does not follow {episodes[0].show_title!r}")
        else:
            episodes = store.episodes.matching(states=("extracted",), recipient_id=person, followed=True)
        found = store.insights.matching(episode_ids=[e.id for e in episodes])
    groups = [(e, [i for i in found if i.episode_id == e.id]) for e in episodes]
    sys.stdout.write(insights_json(groups, explain) if fmt == "json" else insights_text(groups, explain))


@main.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Only this day (YYYY-MM-DD).")
def outbox(day):
    """The email outbox: each recipient's digest per day, sent, pending a retry, or failed and why."""
    settings = load_settings()
    with _store(settings) as store:
        emails = {r.id: r.email or "" for r in store.people.all()}
        rows = store.outbox.all(day.date().isoformat() if day else None)
    if not rows:
        err.print("The outbox is empty: `podsift run` or `podsift serve` sends the digests.")
        return
    table = Table("Day", "Recipient", "Status", "Attempts", "Detail")
    for d in rows:
        detail = d.error or (f"sent {d.sent_at}" if d.sent_at else f"next try {d.next_attempt_at or 'now'}")
        style = {"failed": "red", "pending": "yellow", "cancelled": "dim"}.get(d.status, "")
        table.add_row(
            d.day, Text(emails.get(d.recipient_id, "")), Text(d.status, style=style), str(d.attempts), Text(detail)
        )
    out.print(table)


@main.command()
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many of the latest digests to include.",
)
@for_one
def atom(days, for_email):
    """Print an Atom feed of your stored digests, one entry per day, and the address that serves it.

    `podsift serve` serves the same feed at the address printed on stderr (signed for you: a feed
    reader needs no login). Digests are built by `podsift digest` or `podsift run`."""
    settings = load_settings()
    with _store(settings) as store:
        me = _person(store, for_email)
        digests = stored_digests(store, me, days)
    url = feed_url(settings, me)
    err.print(f"Served by `podsift serve` at {url}")
    sys.stdout.write(digests_atom(settings.base_url, digests, url))


@main.command()
def status():
    """What the service is doing: the scheduler, the last daily job and scan, the last error, each
    person's next digest, episodes by state and emails still owed.

    Exits with status 3 when a scheduler died without stopping or the last daily job failed, so
    a monitoring check can call it."""
    settings = load_settings()
    with _store(settings) as store:
        found = read_status(store, settings)
    table = Table(show_header=False, title=f"podsift status ({settings.home})", title_justify="left")
    for label, text in found.lines:
        table.add_row(label, Text(text))
    out.print(table)
    if not found.healthy:
        sys.exit(3)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port to listen on.")
@click.option("--no-schedule", is_flag=True, help="Serve only; leave the daily job to cron or a systemd timer.")
def serve(host, port, no_schedule):
    """Run the web app, and the daily job at delivery_time (in timezone) every day.

    Log in with the email and password of `podsift user add`. Days missed while the machine was
    off are caught up once; a second serve or a cron job at the same time does not send twice.
    Put it behind HTTPS (a reverse proxy) before exposing it, and set base_url to its address."""
    import logging

    import uvicorn

    from .web import create_app

    settings = load_settings()
    if not no_schedule:
        server = SmtpServer.from_settings(settings) if settings.smtp_url else None  # a bad URL stops us here
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        Scheduler(settings, server=server).start()
    # uvicorn would take X-Forwarded-For from any client on 127.0.0.1; the app reads it itself, and
    # only from `trusted_proxies`.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=False)


@main.group()
def user():
    """Manage the people who receive digests (each with their own shows, sharing transcripts)."""


@user.command("add")
@click.argument("email")
@click.option("--name", default="", help="How the person is greeted.")
@click.option("--password-stdin", is_flag=True, help="Read the web password from standard input (for scripts).")
@click.option("--timezone", "zone_name", help="This person's time zone (e.g. Europe/Paris); default: the install's.")
@click.option("--time", "delivery_time", help="When this person's digest is sent, HH:MM; default: delivery_time.")
@click.option(
    "--interest",
    "interests",
    multiple=True,
    help="A subject this person's digest should lift (repeat for several); default: the install's.",
)
@click.option(
    "--topic",
    "topics",
    multiple=True,
    help="A subject to follow across every show (repeat for several): a section of the email when it has "
    'something new (weekly with topic_digests = "weekly"), and an Atom feed.',
)
@click.option("--unfollow", "unfollow", multiple=True, metavar="TOPIC", help="Stop following a topic.")
def user_add(email, name, password_stdin, zone_name, delivery_time, interests, topics, unfollow):
    """Add a recipient by EMAIL, or update one; asks for a web password when run in a terminal.

    The first email added to a single-person install goes to its existing recipient, so the shows
    already followed stay followed."""
    if "@" not in email:
        raise PodsiftError(f"{email!r} is not an email address")
    if zone_name:
        zone(zone_name)  # refuse a misspelt zone or time before anything is written
    if delivery_time:
        clock_time(delivery_time)
    password = _password(password_stdin, required=False)
    settings = load_settings()
    with _store(settings) as store:
        recipient, created = store.people.add(email, name, hash_password(password) if password else None)
        if interests:
            store.people.set_interests(recipient.id, list(interests))
        if zone_name or delivery_time:
            store.people.set_schedule(recipient.id, zone_name, delivery_time)
        followed = _follow(store, recipient.id, topics, unfollow)
    err.print(f"{'Added' if created else 'Updated'} {recipient.email}" + (" with a web password." if password else "."))
    for t in followed:
        err.print(f"Follows {t.query!r}: its feed is {topic_feed_url(settings, recipient.id, t.id)}")


def _follow(store: Store, recipient_id: int, topics, unfollow) -> list:
    """Follow and unfollow topics for a person; returns the topics they follow now."""
    for query in topics:
        store.people.follow_topic(recipient_id, query)
    followed = {t.query.lower(): t for t in store.people.topics(recipient_id)}
    for query in unfollow:
        gone = followed.pop(" ".join(query.split()).lower(), None)
        if gone is None:
            raise PodsiftError(f"no followed topic {query!r}; `podsift user list` shows each person's topics")
        store.people.unfollow_topic(recipient_id, gone.id)
    return list(followed.values())


def _password(from_stdin: bool, required: bool) -> str | None:
    """A web password from standard input (one line) or typed twice at a terminal; None for none."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = click.prompt(
            "Web password",
            hide_input=True,
            confirmation_prompt=True,
            default="" if not required else None,
            show_default=False,
        )
    else:
        password = ""
    if required and not password:
        raise PodsiftError("no password given: type one at the prompt, or pipe it in with --password-stdin")
    return password or None


@user.command("list")
def user_list():
    """Everyone who receives digests: email, shows followed, time zone and delivery time, the last
    digest emailed, and whether their email is off (they used the unsubscribe link)."""
    settings = load_settings()
    with _store(settings) as store:
        people, owner = store.people.overview(), store.people.owner()
        topics = {person.id: [t.query for t in store.people.topics(person.id)] for person, _, _ in people}
    table = Table("Email", "Name", "Shows", "Topics", "Delivery", "Last digest sent", "Email", "Web login")
    for person, shows, last_sent in people:
        email = (person.email or "(none: the command line's default)") + (" (owner)" if person.id == owner else "")
        delivery = f"{person.delivery_time or settings.delivery_time} {person.timezone or settings.timezone}"
        table.add_row(
            Text(email),
            Text(person.name),
            str(shows),
            Text(", ".join(topics[person.id]) or "-"),
            delivery,
            last_sent or "never",
            Text("off (unsubscribed)", style="yellow") if person.unsubscribed_at else "on",
            "yes" if person.password_hash else "no password",
        )
    out.print(table)


@user.command("remove")
@click.argument("email")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def user_remove(email, yes):
    """Remove a person: their subscriptions, digests, outbox rows, votes and sessions.

    Transcripts and insights stay, since they belong to the shows (which others may follow)."""
    settings = load_settings()
    with _store(settings) as store:
        person = store.people.by_email(email)
        if not yes:
            click.confirm(f"Remove {email} and their subscriptions and digests?", abort=True, err=True)
        store.people.remove(person.id)
    err.print(f"Removed {email}.")


@user.command("passwd")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (for scripts).")
def user_passwd(email, password_stdin):
    """Set a person's web password; every session the old one opened ends."""
    password = _password(password_stdin, required=True)
    settings = load_settings()
    with _store(settings) as store:
        store.people.set_password(store.people.by_email(email).id, hash_password(password))
    err.print(f"Password set for {email}; they log in at {settings.base_url}.")


@user.command("enable")
@click.argument("email")
def user_enable(email):
    """Turn a person's email back on after they unsubscribed (with the link in a digest)."""
    settings = load_settings()
    with _store(settings) as store:
        recipient = store.people.by_email(email)
        store.people.resume_email(recipient.id)
    was = "was off; it is back on" if recipient.unsubscribed_at else "was already on"
    err.print(f"Email to {email} {was}: the next digest is emailed as before.")


@main.group()
def llm():
    """The optional language model ([llm] in podsift.toml): any OpenAI-compatible API."""


@llm.command("check")
def llm_check():
    """Say whether the [llm] endpoint answers, which models it serves, and whether the configured
    model is among them. Exits with status 1 if it does not answer."""
    settings = load_settings()
    with ModelEndpoint(settings) as endpoint:
        served = endpoint.models()
    wanted = settings.llm.model
    out.print(Text(f"{endpoint.base_url} answers; it serves: {', '.join(served) or '(no models listed)'}"))
    if not wanted:
        raise ConfigError(f"set model under [llm] in podsift.toml to one of those ({', '.join(served[:5])})")
    if wanted not in served:
        raise ConfigError(f"the configured model {wanted!r} is not among them: set [llm] model to one that is")
    out.print(Text(f"the configured model {wanted!r} is there: podsift can use it."))


@llm.command("reedit")
@click.option("--episode", "ref", help="Only this episode (id, guid or the start of its title); default: every one.")
def llm_reedit(ref):
    """Forget the model's cards, so that the next scan edits those insights again: after changing
    [llm] model, or for a new prompt. Until then readers see the extractive text. Insights already
    emailed keep the text they were sent with."""
    settings = load_settings()
    with _store(settings) as store:
        gone = store.insights.forget_cards(store.episodes.lookup(ref).id if ref else None)
    err.print(f"Forgot {gone} card(s); `podsift scan` edits them again with {settings.llm.model or 'the [llm] model'}.")


@main.command("run")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day to deliver (YYYY-MM-DD). Default: the day just ended in the configured time zone.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option(
    "--here",
    is_flag=True,
    help="With a Postgres store: scan in this process, as on SQLite, instead of queueing the work for workers.",
)
def run_command(day, quiet, here):
    """The daily job, once: scan, build the day's digest for every recipient and email it.

    Safe to run from cron or a systemd timer, and to run twice: a recipient gets a day's digest
    once. Needs PODSIFT_SMTP_URL and PODSIFT_MAIL_FROM (and PODSIFT_SMTP_PASSWORD if the server
    wants a login). With a Postgres store the scan goes to the queue, as `podsift scan` does, and
    this command waits for the workers before it builds and sends the digests."""
    settings = load_settings()
    if not settings.mail_from:
        raise ConfigError("set PODSIFT_MAIL_FROM (or mail_from in podsift.toml) to the address digests come from")
    server = SmtpServer.from_settings(settings)
    when = digest_day(day.date(), settings.timezone) if day else yesterday(settings.timezone)
    if not day_over(when, settings.timezone):
        raise PodsiftError(
            f"{when} is not over yet in {settings.timezone}: its digest could still grow. Run it once the day "
            f"has ended, or give an earlier --date (yesterday was {yesterday(settings.timezone)})"
        )
    reporter = Reporter() if quiet or not err.is_terminal else RichReporter(err)
    with _store(settings) as store, Fetcher(settings) as fetcher:
        ctx = Context(settings, store, fetcher, WhisperTranscriber(settings.transcribe), Extractor(), reporter)
        scanner = _queued_scan(settings) if settings.database_url and not here else scan
        report = daily_job(ctx, {r.id: [when] for r in store.people.all()}, MiniLM(), server, scanner)
        emails = {r.id: r.email for r in store.people.all()}
    for d in report.deliveries:
        detail = f" ({d.error})" if d.error else ""
        out.print(Text(f"{d.day}: {emails.get(d.recipient_id) or d.recipient_id}: {d.status}{detail}"))
    for recipient, waiting, why in report.waiting:
        out.print(Text(f"{waiting}: {recipient.email or 'you'}: not sent yet, nothing to send while {why}"))
    if not report.deliveries and not report.waiting:
        out.print(f"{when}: nothing to send (no recipients with email, or nothing worth sending).")


def _edit_found(settings: Settings, store: Store, reporter: Reporter, since: datetime | None):
    """As the threaded scan ends: with [llm] set, the model edits what the workers found into cards."""
    if not settings.llm.base_url:
        return None
    with ModelEndpoint(settings) as endpoint:
        return edit_cards(store, endpoint, MiniLM(), reporter, since)


def _queued_scan(settings: Settings):
    """A scan for `daily_job` that the workers do: queue the polls, wait until they are done, then
    the model's cards as after any scan."""
    from .tasks import enqueue_scan

    def scan_by_workers(ctx: Context, since: datetime | None = None) -> None:
        try:
            enqueue_scan(settings, ctx.reporter, True, since)
            _edit_found(settings, ctx.store, ctx.reporter, since)
        finally:
            ctx.reporter.close()

    return scan_by_workers


@main.command()
@click.option(
    "--home", type=click.Path(file_okay=False), help="Keep the demo's data here (default: a temporary folder)."
)
def demo(home):
    """Run podsift end to end on a small bundled podcast served on 127.0.0.1: no account, no internet.

    Subscribes to the demo feed, scans it (one episode ships a publisher transcript, one is
    transcribed on this machine) and prints what it found."""
    from .demo import run_demo

    run_demo(Path(home) if home else None, out, err)
