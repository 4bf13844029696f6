"""Publication times: read from the page's own metadata, normalised to ISO 8601 UTC.

A time of day is kept when the source gives one ("2026-03-14T09:30:00Z"); a bare
date stays a date ("2026-03-14"), never an invented midnight. A value that cannot
be read as a date is not an error: the record keeps it in ``published_at_raw``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_META_TIME = re.compile(
    r"""<meta\s[^>]*?(?:property|name|itemprop)\s*=\s*["']
        (?:article:published_time|og:published_time|datePublished|pubdate|publishdate
           |dc\.date\.issued|sailthru\.date|parsely-pub-date)["'][^>]*>""",
    re.IGNORECASE | re.VERBOSE,
)
_CONTENT = re.compile(r"""content\s*=\s*["']([^"']{8,40})["']""", re.IGNORECASE)
_JSON_LD_TIME = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
_HEAD_CHARS = 300_000


def page_time(html: str) -> str | None:
    """The publication time a page states in its metadata (meta tags, JSON-LD)."""
    head = html[:_HEAD_CHARS]
    for tag in _META_TIME.finditer(head):
        found = _CONTENT.search(tag.group())
        if found:
            return found.group(1).strip()
    found = _JSON_LD_TIME.search(head)
    return found.group(1).strip() if found else None


def warm() -> None:
    """Load the date parser that a page-date search falls back to (a quarter of a
    second, and its English locale), so that it does not load inside a record."""
    try:
        from htmldate.extractors import external_date_parser
    except ImportError:  # an htmldate without it has nothing to warm
        return
    external_date_parser("Tuesday, 3 March 2026 09:30", "%Y-%m-%d")


# the longest value read as a date: "Tuesday, 3 March 2026 09:30:00 Central European
# Summer Time" is 60 characters; dateutil reads a megabyte of "1 1 1 ..." in 2 s
LONGEST_DATE = 100


def normalize(value: str | None) -> tuple[str | None, str | None]:
    """(ISO 8601 UTC, None) for a readable date or time, else (None, the value as given).

    Times with an offset are converted to UTC; times without one are taken as UTC.
    A value over ``LONGEST_DATE`` characters is no date and is not read.
    """
    if value is None or not value.strip():
        return None, None
    text = value.strip()
    if len(text) > LONGEST_DATE:
        return None, value
    when: datetime | date | None
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat(), None
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = _loose(text)
    if when is None:
        return None, value
    if not isinstance(when, datetime):
        return when.isoformat(), None
    utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return utc.isoformat(timespec="seconds").replace("+00:00", "Z"), None


def _loose(text: str) -> datetime | date | None:
    """Dates written in words or other orders ("14 March 2026 09:30 GMT")."""
    from dateutil import parser

    try:
        parsed = parser.parse(text, default=datetime(1, 1, 1))
    except (ValueError, OverflowError):
        return None
    if parsed.year == 1:
        return None
    has_time = bool(re.search(r"\d{1,2}:\d{2}", text))
    return parsed if has_time else parsed.date()
