"""HTML pages to article text and metadata, with trafilatura."""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    title: str | None
    published_at: str | None
    source: str | None
    url: str | None
    language: str | None


def extract(html: str, *, url: str | None = None) -> Extracted:
    """The main text of a page, paragraphs separated by newlines, and its metadata.

    Returns empty text when the page has no article body.
    """
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        deduplicate=False,
    )
    if doc is None or isinstance(doc, dict):
        return Extracted("", None, None, None, None, None)
    return Extracted(
        text=doc.text or "",
        title=doc.title or None,
        published_at=doc.date or None,
        source=doc.sitename or None,
        url=doc.url or None,
        language=doc.language or None,
    )
