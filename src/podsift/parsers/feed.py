"""Podcast feeds (RSS 2.0, Atom, iTunes and Podcasting 2.0 tags) from bytes to a `Feed`.

One pass over one lxml tree. Every `<podcast:transcript>` of an item is kept (feedparser keeps
only the last), and so are soundbites and persons. Entities are expanded only when declared
inside the document: no external DTD or file is ever opened, and libxml2's own limits stop
entity-expansion bombs. A feed that is not well-formed is read in libxml2's recovery mode when
that still yields episodes, and `ParseResult.warning` says what was wrong so the user hears of it.
"""

from __future__ import annotations

import codecs
import email.utils
import functools
import html as html_entities
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin

from lxml import etree, html

from ..errors import ParseError
from ..models import Feed, FeedItem, Person, Soundbite, TranscriptLink
from .url import http_url

NAMESPACES = {
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes",
    "https://podcastindex.org/namespace/1.0": "podcast",
    "https://github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md": "podcast",
    "http://www.w3.org/2005/atom": "atom",
    "http://purl.org/atom/ns#": "atom",  # Atom 0.3, still served by old blogs' podcast feeds
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://search.yahoo.com/mrss/": "media",
    "http://search.yahoo.com/mrss": "media",
}
AUDIO_PREFIXES = ("audio/", "video/")
NS_ERR_UNDEFINED_NAMESPACE = etree.ErrorTypes.NS_ERR_UNDEFINED_NAMESPACE
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
ENCODING_ERRORS = {etree.ErrorTypes.ERR_INVALID_ENCODING, etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING}
# C1 control characters never belong in text; where they appear, a Windows-1252 file was read as
# Latin-1 (browsers treat the two as one), so they are mapped to what Windows-1252 meant: ' " ...
C1_AS_CP1252 = {c: bytes([c]).decode("cp1252", errors="ignore") or None for c in range(0x80, 0xA0)}


@dataclass
class ParseResult:
    """A parsed feed and, when the XML was damaged but still readable, what was wrong with it."""

    feed: Feed
    warning: str = ""


def parse_feed(data: bytes, base_url: str = "") -> ParseResult:
    """Parse feed bytes; relative URLs resolve against `base_url` (where the bytes came from)."""
    root, warning = _parse_xml(data)
    if root.get(XML_BASE):
        base_url = _url(base_url, root.get(XML_BASE)) or base_url
    kind = _key(root)
    if kind == "rss" or kind == "rdf":
        channel = _child(root, "channel")
        feed = _rss_feed(channel if channel is not None else root, root, base_url)
    elif kind == "atom:feed":
        feed = _atom_feed(root, base_url)
    elif kind == "html":
        raise ParseError(
            "this is a web page, not a podcast feed: find the show's RSS link "
            "(often labelled RSS or 'other apps') and subscribe to that"
        )
    else:
        raise ParseError(
            f"no <rss> or <feed> element (the document starts with <{kind}>): check that the URL is the podcast's feed"
        )
    if warning and not feed.items:
        raise ParseError(warning)
    return ParseResult(feed, warning)


def _parse_xml(data: bytes) -> tuple[etree._Element, str]:
    if not data.strip():
        raise ParseError("the feed is empty: the server sent no content; try again later")
    root, errors = _lxml(data, None)
    encoding = next((e for e in errors if e.type in ENCODING_ERRORS), None)
    if encoding is not None:
        # The declared encoding is wrong or unknown: read UTF-8 where the bytes are UTF-8 and
        # Windows-1252 where they are not, which is what such feeds nearly always hold.
        root, errors = _lxml(data.decode("utf-8", errors="podsift-cp1252").encode("utf-8"), "utf-8")
        errors = [encoding, *errors]
    if root is None:
        raise ParseError("the feed is not XML: check that the URL is the podcast's feed")
    if errors:
        first = errors[0]
        return root, (
            f"the feed is not well-formed XML (line {first.line}: {first.message.strip()}); "
            "podsift read what it could; tell the publisher"
        )
    return root, ""


def _lxml(data: bytes, encoding: str | None):
    """The tree (None if nothing was left) and the errors worth reporting."""
    parser = _parser(encoding)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:  # raised even in recovery mode when nothing is left
        raise ParseError(f"the feed is not XML ({exc}): check that the URL is the podcast's feed") from None
    # Undeclared prefixes (itunes:, podcast:) are too common to complain about; real damage is not.
    damage = [
        e for e in parser.error_log if e.type != NS_ERR_UNDEFINED_NAMESPACE and e.level >= etree.ErrorLevels.ERROR
    ]
    return root, damage


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error("podsift-cp1252", _cp1252_fallback)


def _parser(encoding: str | None = None) -> etree.XMLParser:
    # resolve_entities="internal": &name; declared in the document expands, nothing external is read.
    return etree.XMLParser(
        encoding=encoding,
        recover=True,
        resolve_entities="internal",
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _key(el) -> str:
    """'itunes:duration', 'podcast:transcript', 'title': namespace by meaning, not by prefix."""
    return _tag_key(el.tag) if isinstance(el.tag, str) else ""


@functools.lru_cache(maxsize=1024)  # a feed repeats a few dozen tags thousands of times
def _tag_key(tag: str) -> str:
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        prefix = NAMESPACES.get(uri.lower().rstrip(), "?")
        return f"{prefix}:{local}" if prefix != "?" else f"?:{local}"
    if ":" in tag:  # an undeclared prefix, which libxml2's recovery keeps in the name
        prefix, local = tag.split(":", 1)
        return f"{prefix.lower()}:{local}"
    return tag.lower() if tag.lower() in ("rss", "html") else tag


def _children(el, key: str):
    return [c for c in el if _key(c) == key]


def _child(el, key: str):
    return next((c for c in el if _key(c) == key), None)


def _text(el, *keys: str) -> str:
    for key in keys:
        child = _child(el, key)
        if child is not None:
            value = "".join(child.itertext()).strip().translate(C1_AS_CP1252)
            if value:
                return value
    return ""


def _rss_feed(channel, root, base: str) -> Feed:
    image = _child(channel, "itunes:image")
    feed = Feed(
        title=_text(channel, "title", "itunes:title") or base,
        link=http_url(_url(base, _text(channel, "link"))),
        description=_plain(_text(channel, "description", "itunes:summary", "itunes:subtitle")),
        author=_text(channel, "itunes:author", "managingEditor", "author"),
        image=_url(base, image.get("href", "") if image is not None else _image_url(channel)),
        language=_text(channel, "language"),
        new_url=_url(base, _text(channel, "itunes:new-feed-url") or _redirect(root)),
    )
    # RSS 1.0 (RDF) puts items beside the channel, RSS 2.0 inside it.
    items = _children(channel, "item") or _children(root, "item")
    feed.items = [it for it in (_rss_item(el, base) for el in items) if it]
    return feed


def _image_url(channel) -> str:
    image = _child(channel, "image")
    return _text(image, "url") if image is not None else ""


def _redirect(root) -> str:
    redirect = _child(root, "redirect")
    return _text(redirect, "newLocation") if redirect is not None else ""


def _rss_item(el, base: str) -> FeedItem | None:
    url, kind, size = _enclosure(el, base)
    if not url:
        return None  # nothing to listen to: podsift links every insight to audio
    guid = _text(el, "guid")
    return FeedItem(
        guid=guid or url,
        title=_text(el, "title", "itunes:title") or _file_stem(url),
        audio_url=url,
        audio_type=kind,
        audio_bytes=size,
        audio_integrity=_integrity(el, url, base),
        published=parse_date(_text(el, "pubDate", "?:date", "dc:date")),
        duration=parse_duration(_text(el, "itunes:duration")),
        description=_plain(_text(el, "content:encoded", "description", "itunes:summary")),
        link=http_url(_url(base, _text(el, "link"))) or _permalink(el, guid, base),
        transcripts=_transcripts(el, base),
        soundbites=_soundbites(el),
        persons=_persons(el),
    )


def _permalink(el, guid: str, base: str) -> str:
    """A guid that is a permalink (the RSS default) doubles as the episode's web page."""
    tag = _child(el, "guid")
    if not guid or (tag is not None and tag.get("isPermaLink", "true").strip().lower() == "false"):
        return ""
    return http_url(_url(base, guid))


def _file_stem(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].split("?")[0].rsplit(".", 1)[0]


def _enclosure(el, base: str) -> tuple[str, str, int]:
    found = [(c.get("url", ""), c.get("type", ""), c.get("length", "")) for c in _children(el, "enclosure")]
    found += [(c.get("url", ""), c.get("type", ""), c.get("fileSize", "")) for c in _media_contents(el)]
    # Only http(s): the audio URL ends up in links and players, where javascript: or data: must not.
    found = [(http_url(_url(base, u)), t.strip().lower(), s) for u, t, s in found]
    found = [f for f in found if f[0]]
    if not found:
        return "", "", -1
    # Prefer audio over a video or an image some feeds list first.
    found.sort(key=lambda f: (not f[1].startswith("audio/"), not f[1].startswith(AUDIO_PREFIXES)))
    url, kind, size = found[0]
    return url, kind, _int(size, -1)


def _integrity(el, url: str, base: str) -> str:
    """The SRI hash that `<podcast:integrity>` gives for the audio podsift downloads, or "".

    The namespace puts it in the `<podcast:alternateEnclosure>` whose `<podcast:source>` is that
    file; one directly in the item or its enclosure is taken too. PGP signatures are not checked."""
    holders = [el, *_children(el, "enclosure")]
    for alternate in _children(el, "podcast:alternateEnclosure"):
        if any(_url(base, s.get("uri", "")) == url for s in _children(alternate, "podcast:source")):
            holders.append(alternate)
    for holder in holders:
        for tag in _children(holder, "podcast:integrity"):
            if tag.get("type", "").strip().lower() == "sri" and tag.get("value", "").strip():
                return " ".join(tag.get("value").split())
    return ""


def _media_contents(el):
    group = _child(el, "media:group")
    return _children(el, "media:content") + (_children(group, "media:content") if group is not None else [])


def _transcripts(el, base: str) -> list[TranscriptLink]:
    links = []
    for tag in _children(el, "podcast:transcript"):
        url = http_url(_url(base, tag.get("url", "")))
        if url:
            links.append(
                TranscriptLink(
                    url=url,
                    type=tag.get("type", "").strip().lower(),
                    language=tag.get("language", "").strip(),
                    rel=tag.get("rel", "").strip().lower(),
                )
            )
    return links


def _soundbites(el) -> list[Soundbite]:
    bites = []
    for tag in _children(el, "podcast:soundbite"):
        start, length = _float(tag.get("startTime")), _float(tag.get("duration"))
        if start is not None and length:
            bites.append(Soundbite(start, length, "".join(tag.itertext()).strip()))
    return bites


def _persons(el) -> list[Person]:
    people = []
    for tag in _children(el, "podcast:person"):
        name = "".join(tag.itertext()).strip()
        if name:
            people.append(Person(name, (tag.get("role") or "host").strip().lower()))
    return people


def _atom_feed(root, base: str) -> Feed:
    feed = Feed(
        title=_text(root, "atom:title") or base,
        link=http_url(_url(base, _atom_link(root, "alternate"))),
        description=_plain(_text(root, "atom:subtitle", "atom:tagline")),
        author=_atom_author(root),
        image=_url(base, _text(root, "atom:logo", "atom:icon")),
    )
    feed.items = [it for it in (_atom_entry(el, base) for el in _children(root, "atom:entry")) if it]
    return feed


def _atom_author(root) -> str:
    author = _child(root, "atom:author")
    return _text(author, "atom:name") if author is not None else ""


def _atom_link(el, rel: str) -> str:
    for link in _children(el, "atom:link"):
        if (link.get("rel") or "alternate") == rel and link.get("href"):
            return link.get("href").strip()
    return ""


def _atom_entry(el, base: str) -> FeedItem | None:
    links = [
        (k, http_url(_url(base, k.get("href", "")))) for k in _children(el, "atom:link") if k.get("rel") == "enclosure"
    ]
    links = [(k, url) for k, url in links if url]  # only http(s), as for RSS
    if not links:
        return None
    enclosure, url = links[0]
    return FeedItem(
        guid=_text(el, "atom:id") or url,
        title=_text(el, "atom:title") or _file_stem(url),
        audio_url=url,
        audio_type=(enclosure.get("type") or "").lower(),
        audio_bytes=_int(enclosure.get("length"), -1),
        published=parse_date(_text(el, "atom:published", "atom:updated", "atom:issued", "atom:modified")),
        duration=parse_duration(_text(el, "itunes:duration")),
        description=_plain(_text(el, "atom:content", "atom:summary")),
        link=http_url(_url(base, _atom_link(el, "alternate"))),
        transcripts=_transcripts(el, base),
        soundbites=_soundbites(el),
        persons=_persons(el),
    )


def _url(base: str, url: str) -> str:
    """`url` resolved against `base`; "" when it cannot be a URL at all ("http://[bad")."""
    url = url.strip()
    try:
        return urljoin(base, url) if url and base else url
    except ValueError:
        return ""


def _plain(markup: str) -> str:
    """Show notes as plain text: tags dropped, character references read, white space folded."""
    if "<" not in markup:
        return " ".join(html_entities.unescape(markup).split())
    try:
        return " ".join(html.fromstring(markup).text_content().split())
    except (etree.ParserError, ValueError):
        return " ".join(re.sub(r"<[^>]*>", " ", markup).split())


def _int(value, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _float(value) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_date(text: str) -> datetime | None:
    """RFC 822 (RSS) or ISO 8601 (Atom) to an aware UTC datetime; None when unreadable."""
    text = text.strip()
    if not text:
        return None
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_duration(text: str) -> float:
    """itunes:duration as seconds: '3600', '61:00', '01:01:00', '3600.5'; 0 when unreadable."""
    parts = text.strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return 0.0
    if not text.strip() or len(numbers) > 3 or not all(math.isfinite(n) and n >= 0 for n in numbers):
        return 0.0  # NaN and Infinity parse as floats too
    seconds = 0.0
    for n in numbers:
        seconds = seconds * 60 + n
    return seconds
