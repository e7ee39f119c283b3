"""The `podsift` command driven end to end, as a user types it."""

import json
import shutil

import click
import pytest
from click.testing import CliRunner
from conftest import rss

from podsift.cli import main
from podsift.parsers.opml import parse_opml

NESTED_OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Podcasts exported from an app</title></head>
  <body>
    <outline text="Science">
      <outline type="rss" text="Show A" xmlUrl="https://a.example.com/feed.xml"/>
      <outline text="Deeper folder">
        <outline type="rss" title="Show B" text="B" xmlUrl="https://b.example.com/rss"/>
      </outline>
    </outline>
    <outline type="rss" text="Show A again" xmlUrl="https://a.example.com/feed.xml"/>
    <outline type="link" text="A web page, not a feed" url="javascript:alert(1)"/>
  </body>
</opml>
"""


def run(*args, ok=True):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_opml_nested_outlines_and_duplicates():
    assert parse_opml(NESTED_OPML) == [
        ("Show A", "https://a.example.com/feed.xml"),
        ("Show B", "https://b.example.com/rss"),
    ]


def test_subscribe_opml_then_list_export_and_unsubscribe(tmp_path):
    opml = tmp_path / "subs.opml"
    opml.write_bytes(NESTED_OPML)
    assert "Subscribed to 2 new feed(s)" in run("subscribe", str(opml)).output
    assert "Subscribed to 0 new feed(s) (1 already followed)" in run("subscribe", "https://b.example.com/rss").output

    listing = run("feeds").output
    assert "https://a.example.com/feed.xml" in listing and "not checked yet" in listing

    exported = tmp_path / "out.opml"
    run("export-opml", "-o", str(exported))
    assert [url for _, url in parse_opml(exported.read_bytes())] == [
        "https://a.example.com/feed.xml",
        "https://b.example.com/rss",
    ]

    run("unsubscribe", "https://a.example.com/feed.xml")
    assert "a.example.com" not in run("feeds").output


def test_subscribe_rejects_what_is_not_a_feed(tmp_path):
    result = run("subscribe", "not-a-url", ok=False)
    assert result.exit_code == 1 and "neither an http(s) feed URL nor an OPML file" in result.output
    bad = tmp_path / "bad.opml"
    bad.write_text("<html>hello</html>")
    assert "not an OPML file" in run("subscribe", str(bad), ok=False).output


def test_bad_config_names_the_fix(home):
    home.mkdir(parents=True)
    (home / "podsift.toml").write_text("[transcribe]\nbeam_size = 'wide'\n")
    result = run("feeds", ok=False)
    assert result.exit_code == 1 and "beam_size" in result.output and "must be a whole number" in result.output


def test_scan_and_transcript_formats(server, clips, monkeypatch):
    monkeypatch.setenv("PODSIFT_ALLOW_PRIVATE_NETWORKS", "1")
    shutil.copy(clips[1], server.root / "ep.mp3")
    (server.root / "feed.xml").write_text(
        rss("Facts", [{"guid": "g1", "title": "Honey", "audio": f"{server.url}/ep.mp3"}])
    )
    run("subscribe", f"{server.url}/feed.xml")
    scanned = run("scan").output
    assert "episodes transcribed" in scanned and "audio s per wall s" in scanned

    text = run("transcript", "g1").output
    assert text.startswith("[0:00] ") and "spoils" in text.lower()
    vtt = run("transcript", "Hon", "--format", "vtt").output
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
    doc = json.loads(run("transcript", "1", "--format", "json").output)
    assert doc["guid"] == "g1" and doc["source"] == "whisper" and doc["segments"][0]["start"] == 0.0
    assert "Facts" in run("feeds").output

    missing = run("transcript", "nothing-like-this", ok=False)
    assert missing.exit_code == 1 and "podsift episodes" in missing.output


def test_private_addresses_are_refused_by_default(server, clips):
    (server.root / "feed.xml").write_text(rss("Facts", []))
    run("subscribe", f"{server.url}/feed.xml")
    output = run("scan").output
    assert "private or local address" in output and "PODSIFT_ALLOW_PRIVATE_NETWORKS=1" in output
    assert not server.requests


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize(
    "path,command", list(_commands(main)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_has_help(path, command):
    assert command.help and len(command.help.strip()) > 20, f"podsift {' '.join(path)} needs help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"podsift {' '.join(path)} {param.opts[0]} needs help text"
    assert run(*path, "--help").output.startswith("Usage: ")


def test_feed_text_is_not_taken_as_terminal_markup(server, monkeypatch):
    monkeypatch.setenv("PODSIFT_ALLOW_PRIVATE_NETWORKS", "1")
    (server.root / "feed.xml").write_text(rss("[bold red]Loud[/bold red] show", []))
    run("subscribe", f"{server.url}/feed.xml")
    run("scan")
    assert "[bold red]Loud[/bold red] show" in run("feeds").output


def test_a_misspelt_time_zone_names_the_fix(home):
    home.mkdir(parents=True)
    (home / "podsift.toml").write_text('timezone = "Europe/Pariss"\n')
    result = run("digest", ok=False)
    assert result.exit_code == 1 and "unknown time zone 'Europe/Pariss'" in result.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["outbox", "--date", "notadate"], "'notadate' does not match the format '%Y-%m-%d'"),
        (["episodes", "--state", "bogus"], "'bogus' is not one of 'skipped', 'new', 'downloaded'"),
        (["atom", "--days", "-5"], "-5 is not in the range x>=1"),
        (["atom", "--days", "0"], "0 is not in the range x>=1"),
    ],
)
def test_arguments_out_of_range_are_refused_with_the_valid_form(args, message):
    result = run(*args, ok=False)
    assert result.exit_code == 2 and message in result.output, result.output


MALFORMED_URLS = [
    "http://[::1",
    "http://[::1]:99999/feed",
    "https://exa mple.com/\nfeed",
    "http://:80/feed",
    "http:///",
]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_feed_url_is_refused_and_nothing_is_stored(url, home):
    result = run("subscribe", "https://good.example.com/feed.xml", url, ok=False)
    assert result.exit_code == 1 and "is not a valid feed address" in result.output, result.output
    assert "Traceback" not in result.output
    assert "good.example.com" not in run("feeds").output  # the command stored nothing, not even the good URL


def test_an_opml_import_skips_outlines_whose_url_is_malformed(tmp_path):
    outlines = "".join(f'<outline text="bad" xmlUrl="{url}"/>' for url in ("http://[::1", "http://[::1]:99999/x"))
    opml = tmp_path / "subs.opml"
    opml.write_text(
        f'<opml version="2.0"><body>{outlines}<outline text="ok" xmlUrl="https://ok.example/rss"/></body></opml>'
    )
    assert "Subscribed to 1 new feed(s)" in run("subscribe", str(opml)).output
    listing = run("feeds").output
    assert "https://ok.example/rss" in listing and "[::1" not in listing


@pytest.mark.parametrize(
    "args,message",
    [
        (["digest", "--date", "9999-12-31"], "there is no digest for 9999-12-31: give a day from 1970-01-01 to"),
        (["digest", "--date", "0001-01-01"], "give a day from 1970-01-01 to"),
        (["run", "--date", "9999-12-31"], "give a day from 1970-01-01 to"),
        (["transcript", "99999999999999999999"], "no episode matches '99999999999999999999'"),
    ],
)
def test_days_and_ids_out_of_range_give_one_line_that_says_what_is_valid(args, message, monkeypatch):
    monkeypatch.setenv("PODSIFT_MAIL_FROM", "digest@example.org")
    monkeypatch.setenv("PODSIFT_SMTP_URL", "smtp://127.0.0.1:1")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, result.output
    assert result.output.count("\n") == 1  # one line, not a traceback


def test_an_opml_file_too_large_or_too_long_is_refused_and_nothing_is_stored(tmp_path):
    outlines = "".join(f'<outline text="s{n}" xmlUrl="https://s{n}.example/rss"/>' for n in range(1001))
    long = tmp_path / "long.opml"
    long.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>')
    result = run("subscribe", str(long), ok=False)
    assert result.exit_code == 1 and "lists 1,001 feeds; podsift imports at most 1,000 at once" in result.output
    huge = tmp_path / "huge.opml"
    huge.write_bytes(b'<opml version="2.0"><body>' + b" " * 3_000_000 + b"</body></opml>")
    assert "larger than 2 MB" in run("subscribe", str(huge), ok=False).output
    assert "No subscriptions yet" in run("feeds").output
