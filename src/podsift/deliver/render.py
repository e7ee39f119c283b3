"""Text, WebVTT and JSON renderings of what podsift stores."""

from __future__ import annotations

import csv
import io
import json
import re
from html import escape
from urllib.parse import quote

from ..models import Episode, StoredInsight, Transcript
from .items import DigestItem


def clock(seconds: float) -> str:
    """12:34 or 1:02:03: a time in an episode as people read it."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def transcript_text(transcript: Transcript) -> str:
    """One line a sentence: time, speaker when known, words."""
    lines = []
    for s in transcript.segments:
        speaker = f"{s.speaker}: " if s.speaker else ""
        lines.append(f"[{clock(s.start)}] {speaker}{s.text}")
    return "\n".join(lines) + "\n"


def transcript_vtt(transcript: Transcript) -> str:
    """WebVTT, one cue a sentence, speakers as voice tags."""
    cues = []
    for s in transcript.segments:
        voice = f"<v {s.speaker}>" if s.speaker else ""
        cues.append(f"{_vtt_time(s.start)} --> {_vtt_time(s.end)}\n{voice}{s.text}")
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def transcript_json(episode: Episode, transcript: Transcript) -> str:
    """The episode's identity and its sentence segments as JSON."""
    doc = {
        "guid": episode.guid,
        "title": episode.title,
        "podcast": episode.show_title,
        "audio_url": episode.audio_url,
        "source": transcript.source,
        "format": transcript.format,
        "model": transcript.model,
        "language": transcript.language,
        "segments": [
            {"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text} for s in transcript.segments
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def listen_url(audio_url: str, start: float) -> str:
    """The audio URL with a media fragment that starts playback at `start` seconds ("" unless http(s))."""
    url = safe_url(audio_url)
    return f"{url}#t={int(start)}" if url else ""


def safe_url(url: str) -> str:
    """`url` if it is http(s), else "": a link or player must never run javascript: or data:.

    The feed parser already drops such URLs; this guards what an older install stored."""
    return url if url.split(":", 1)[0].lower() in ("http", "https") and ":" in url else ""


def _insight_doc(insight: StoredInsight) -> dict:
    return {
        "insight": insight.text,
        "quote": insight.quote,
        "podcast": insight.show_title,
        "episode": insight.episode_title,
        "guid": insight.guid,
        "audio_url": insight.audio_url,
        "start": round(insight.start, 2),
        "end": round(insight.end, 2),
        "score": round(insight.score, 3),
        "edited_by": insight.edited_by,
        "edit_rejected": insight.edit_rejected,
    }


def digest_json(day: str, items: list[DigestItem]) -> str:
    """The digest as the benchmark and other tools read it (see README: Interfaces)."""
    return json.dumps({"date": day, "items": _item_docs(items)}, indent=2, ensure_ascii=False) + "\n"


def topic_json(topic: str, since: str, until: str, items: list[DigestItem]) -> str:
    """A topic digest: the daily digest's item shape under the topic and its window."""
    doc = {"topic": topic, "since": since, "until": until, "items": _item_docs(items)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _item_docs(items: list[DigestItem]) -> list[dict]:
    docs = []
    for rank, item in enumerate(items, 1):
        also = [
            {k: v for k, v in _insight_doc(a).items() if k in ("podcast", "episode", "guid", "audio_url", "start")}
            for a in item.also
        ]
        docs.append({"rank": rank, **_insight_doc(item.insight), "also": also})
    return docs


def _sources(item: DigestItem) -> list[tuple[StoredInsight, str]]:
    return [
        (i, f"{i.show_title}, \u201c{i.episode_title}\u201d at {clock(i.start)}") for i in [item.insight, *item.also]
    ]


def digest_text(day: str, items: list[DigestItem], sections: list | None = None) -> str:
    """Plain text for a terminal or a text email; followed topics' `sections` after the five."""
    text = _text(f"podsift digest for {day}", items, "nothing worth your time today.")
    for section in sections or []:
        text += "\n" + _text(f"On {section.topic!r}", section.items, "nothing new.")
    return text


def topic_text(topic: str, since: str, until: str, items: list[DigestItem]) -> str:
    """A topic digest as plain text."""
    return _text(f"podsift on {topic!r}, {since} to {until}", items, "nothing was said about it then.")


def _text(heading: str, items: list[DigestItem], empty: str) -> str:
    if not items:
        return f"{heading}: {empty}\n"
    lines = [heading, ""]
    for rank, item in enumerate(items, 1):
        lines.append(f"{rank}. {_titled(item.insight.card_title, item.insight.text)}")
        lines += [f"   {label}  {listen_url(i.audio_url, i.start)}" for i, label in _sources(item)]
        lines.append("")
    return "\n".join(lines)


def digest_markdown(day: str, items: list[DigestItem]) -> str:
    """Markdown, each source a link into the audio at the second the insight starts."""
    return _markdown(f"podsift digest for {day}", items, "Nothing worth your time today.")


def topic_markdown(topic: str, since: str, until: str, items: list[DigestItem]) -> str:
    """A topic digest as Markdown."""
    return _markdown(f"podsift on \u201c{topic}\u201d, {since} to {until}", items, "Nothing was said about it then.")


def _markdown(heading: str, items: list[DigestItem], empty: str) -> str:
    if not items:
        return f"# {_md(heading)}\n\n{empty}\n"
    lines = [f"# {_md(heading)}", ""]
    for rank, item in enumerate(items, 1):
        title = f"**{_md(item.insight.card_title)}.** " if item.insight.card_title else ""
        lines.append(f"{rank}. {title}{_md(item.insight.text)}")
        lines += [f"   - [{_md(label)}]({listen_url(i.audio_url, i.start)})" for i, label in _sources(item)]
    return "\n".join(lines) + "\n"


def digest_html(day: str, items: list[DigestItem]) -> str:
    """A small standalone HTML page; every piece of feed text is escaped."""
    return _html(f"podsift digest for {day}", items, "Nothing worth your time today.")


def topic_html(topic: str, since: str, until: str, items: list[DigestItem]) -> str:
    """A topic digest as a small standalone HTML page."""
    return _html(f"podsift on \u201c{topic}\u201d, {since} to {until}", items, "Nothing was said about it then.")


def _html(heading: str, items: list[DigestItem], empty: str) -> str:
    body = []
    for item in items:
        links = "".join(
            f'<li><a href="{escape(listen_url(i.audio_url, i.start))}">{escape(label)}</a></li>'
            for i, label in _sources(item)
        )
        body.append(f"<li><p>{_html_titled(item.insight)}</p><ul>{links}</ul></li>")
    content = f"<ol>{''.join(body)}</ol>" if body else f"<p>{escape(empty)}</p>"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(heading)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><h1>{escape(heading)}</h1>{content}</body></html>\n"
    )


def insights_json(groups: list[tuple[Episode, list[StoredInsight]]], explain: bool = False) -> str:
    """Every episode's ranked insights; with `explain`, the score's reasons and feature values."""
    episodes = []
    for episode, insights in groups:
        rows = []
        for i in insights:
            row = {
                "rank": i.rank,
                "insight": i.text,
                "edited_by": i.edited_by,
                "edit_rejected": i.edit_rejected,
                "quote": i.quote,
                "start": round(i.start, 2),
                "end": round(i.end, 2),
                "score": round(i.score, 3),
            }
            if explain:
                row["reasons"] = i.reasons
            rows.append(row)
        episodes.append(
            {
                "guid": episode.guid,
                "title": episode.title,
                "podcast": episode.show_title,
                "audio_url": episode.audio_url,
                "insights": rows,
            }
        )
    return json.dumps({"episodes": episodes}, indent=2, ensure_ascii=False) + "\n"


def insights_text(groups: list[tuple[Episode, list[StoredInsight]]], explain: bool = False) -> str:
    """Each episode's insights, best first, with their time and score (and reasons with `explain`)."""
    lines = []
    for episode, insights in groups:
        lines.append(f"{episode.show_title}: {episode.title}")
        for i in insights:
            lines.append(f"  {i.rank}. [{clock(i.start)}] ({i.score:.2f}) {i.text}")
            if explain:
                lines.append(
                    f"     for: {', '.join(i.reasons.get('for', [])) or '-'}; "
                    f"against: {', '.join(i.reasons.get('against', [])) or '-'}"
                )
                if i.edited_by:
                    lines.append(f"     card by {i.edited_by}: \u201c{i.card_title}\u201d; as said: {i.quote}")
                if i.edit_rejected:
                    lines.append(f"     card refused ({i.edit_rejected}); the text above is as extracted")
        lines.append("")
    return "\n".join(lines)


def _titled(title: str | None, text: str) -> str:
    """A card's title before its text ("Why glaciers move. Glaciers flow..."); extractive text alone."""
    return f"{title}. {text}" if title else text


def _html_titled(insight: StoredInsight) -> str:
    title = f"<b>{escape(insight.card_title)}.</b> " if insight.card_title else ""
    return title + escape(insight.text)


def _md(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


EMAIL_FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;"


def digest_email_html(day: str, items: list[DigestItem], unsubscribe: str, sections: list | None = None) -> str:
    """The digest as email HTML: one column, every style inline (Gmail and Outlook drop <style>);
    each followed topic's `sections` (`rank.TopicSection`) under a heading of its own."""
    font = EMAIL_FONT
    body = _email_rows(items) or f'<tr><td style="{font}padding:16px 0;">Nothing worth your time today.</td></tr>'
    for section in sections or []:
        body += (
            f'<tr><td style="{font}font-size:17px;font-weight:bold;padding:24px 0 0;color:#111;">'
            f"On \u201c{escape(section.topic)}\u201d</td></tr>{_email_rows(section.items)}"
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="margin:0;padding:0;background:#f6f6f6;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f6f6;">'
        '<tr><td align="center" style="padding:16px;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:600px;background:#fff;border-radius:8px;padding:8px 24px;">'
        f'<tr><td style="{font}font-size:20px;font-weight:bold;padding:16px 0 4px;color:#111;">'
        f"Your podsift digest for {escape(day)}</td></tr>{body}"
        f'<tr><td style="{font}font-size:12px;color:#777;padding:16px 0;">'
        f'<a href="{escape(unsubscribe)}" style="color:#777;">Unsubscribe</a></td></tr>'
        "</table></td></tr></table></body></html>\n"
    )


def _email_rows(items: list[DigestItem]) -> str:
    font, rows = EMAIL_FONT, []
    for rank, item in enumerate(items, 1):
        sources = "".join(
            f'<div style="{font}font-size:13px;color:#555;margin-top:6px;">{escape(label)} &middot; '
            f'<a href="{escape(listen_url(i.audio_url, i.start))}" style="color:#0b57d0;">'
            f"listen from {clock(i.start)}</a></div>"
            for i, label in _sources(item)
        )
        rows.append(
            f'<tr><td style="padding:16px 0;border-bottom:1px solid #e5e5e5;">'
            f'<div style="{font}font-size:16px;line-height:1.5;color:#111;">'
            f"<b>{rank}.</b> {_html_titled(item.insight)}</div>"
            f"{sources}</td></tr>"
        )
    return "".join(rows)


def digests_atom(
    base_url: str,
    digests: list[tuple[str, str, list[DigestItem]]],
    self_url: str = "",
    title: str = "podsift",
    topic: tuple[int, str] | None = None,
) -> str:
    """An Atom feed (RFC 4287) of digests, one entry per day: (day, built at, items), newest first;
    with `topic` (its id and words), of what the days' digests carried for that followed topic."""
    base = base_url.rstrip("/")
    self_url = self_url or f"{base}/feed.atom"
    updated = digests[0][1] if digests else "1970-01-01T00:00:00+00:00"
    name = f"{title} on \u201c{topic[1]}\u201d" if topic else title
    page = f"{base}/subject?q={quote(topic[1])}" if topic else f"{base}/"
    entries = []
    for day, built, items in digests:
        body = topic_html(topic[1], day, day, items) if topic else digest_html(day, items)
        entry = f"{base}/subject/{topic[0]}/{day}" if topic else f"{base}/digest/{day}"  # unique, and permanent
        entries.append(
            f"<entry><id>{escape(entry)}</id><title>{escape(name)}{', ' if topic else ' digest for '}{day}</title>"
            f"<updated>{escape(built)}</updated>"
            f'<link rel="alternate" type="text/html" href="{escape(page if topic else entry)}"/>'
            f"<summary>{len(items)} insight{'s' if len(items) != 1 else ''}</summary>"
            f'<content type="html">{escape(body)}</content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(self_url)}</id><title>{escape(name)}: {'what was said' if topic else 'your daily insights'}"
        "</title>"
        f"<updated>{escape(updated)}</updated><author><name>podsift</name></author>"
        f'<link rel="self" type="application/atom+xml" href="{escape(self_url)}"/>'
        f'<link rel="alternate" type="text/html" href="{escape(page)}"/>'
        f"{''.join(entries)}</feed>\n"
    )


READWISE_COLUMNS = ("Highlight", "Title", "Author", "URL", "Note", "Location", "Date")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def readwise_csv(insights: list[StoredInsight], day: str) -> str:
    """Insights as Readwise's CSV import takes them: a highlight each, the episode as its title,
    the show as its author, the audio at the second as its URL, the words as said in the note.

    A cell that a spreadsheet would run as a formula ("=HYPERLINK(...)" in a feed title) is
    prefixed with an apostrophe, as OWASP advises for CSV files that may be opened in one."""
    out = io.StringIO()
    rows = csv.writer(out)
    rows.writerow(READWISE_COLUMNS)
    for i in insights:
        note = f"Said at {clock(i.start)}: \u201c{i.quote}\u201d"
        cells = [i.text, i.episode_title, i.show_title, listen_url(i.audio_url, i.start), note, "", day]
        rows.writerow(["'" + c if c.startswith(FORMULA_START) else c for c in cells])
    return out.getvalue()


def episode_markdown(episode: Episode, insights: list[StoredInsight]) -> str:
    """An episode's insights as a Markdown note (for Obsidian or Logseq): a bullet each, linked to
    the audio at the second it was said."""
    lines = [f"# {_md(episode.show_title)}: {_md(episode.title)}", ""]
    if episode.published_at:
        lines[1:1] = [f"Published {episode.published_at.date().isoformat()}", ""]
    for i in insights:
        lines.append(f"- {_md(i.text)} ([{clock(i.start)}]({listen_url(i.audio_url, i.start)}))")
    if not insights:
        lines.append("No insights in this episode.")
    return "\n".join(lines) + "\n"
