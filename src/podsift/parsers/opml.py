"""OPML, the subscription list every podcast app imports and exports."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from ..errors import ParseError
from .url import http_url

MAX_BYTES = 2_000_000  # a podcast app's export of 500 shows is about 100 KB
MAX_FEEDS = 1000  # per import: more is a mistake or an attack, and would swamp the shows page and the next scan


def parse_opml(data: bytes) -> list[tuple[str, str]]:
    """(title, feed URL) of every outline with a valid http(s) xmlUrl, nested folders included, first
    of duplicates kept. A file over MAX_BYTES or listing over MAX_FEEDS feeds is a ParseError."""
    if len(data) > MAX_BYTES:
        raise ParseError(f"the file is larger than {MAX_BYTES // 1_000_000} MB, which no list of podcasts needs")
    parser = etree.XMLParser(recover=True, resolve_entities="internal", no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser) if data.strip() else None
    except etree.XMLSyntaxError:
        root = None
    if root is None or not isinstance(root.tag, str) or root.tag.lower() != "opml":
        raise ParseError(
            "not an OPML file: export your subscriptions from your podcast app as OPML, or pass feed URLs instead"
        )
    seen, feeds = set(), []
    for outline in root.iter("outline"):
        url = http_url(outline.get("xmlUrl") or outline.get("xmlurl") or outline.get("url") or "")
        if not url or url in seen:  # a malformed or non-http address is no feed
            continue
        seen.add(url)
        feeds.append(((outline.get("title") or outline.get("text") or "").strip(), url))
    if len(feeds) > MAX_FEEDS:
        raise ParseError(
            f"the file lists {len(feeds):,} feeds; podsift imports at most {MAX_FEEDS:,} at once: "
            "split it and import each part"
        )
    return feeds


def to_opml(feeds: list[tuple[str, str]], title: str = "podsift subscriptions") -> bytes:
    """An OPML 2.0 document listing (title, feed URL) pairs."""
    stamp = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{escape(title)}</title><dateCreated>{stamp}</dateCreated></head>",
        "  <body>",
    ]
    lines += [
        f'    <outline type="rss" text={quoteattr(t or u)} title={quoteattr(t or u)} xmlUrl={quoteattr(u)}/>'
        for t, u in feeds
    ]
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")
