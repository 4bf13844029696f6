"""HTML pages to article text and metadata, with trafilatura and a streaming fallback.

trafilatura (lxml underneath) finds the article block of ordinary pages.
Two kinds of page defeat it: markup nested deeper than libxml2 will go
(the story is silently dropped) and very large pages (tens of seconds).
For those, ``plain_text`` walks the markup with the standard library's
incremental parser, which keeps no tree: linear time, no depth limit. Its
text then goes through the line-level boilerplate rules like pasted text.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura import metadata as tmeta
from trafilatura.settings import Document, set_date_params
from trafilatura.utils import load_html

# Past this size trafilatura takes tens of seconds; the streaming pass is linear.
MAX_EXTRACT_CHARS = 2 * 1024 * 1024
# Shapes whose cost grows with their square in lxml or trafilatura, also left to the
# streaming pass: an element with more children than this (trafilatura reads each
# inline child of a paragraph against the rest: 14,000 spans in one paragraph took
# 6 s, a megabyte of them two minutes), or a tag with more attributes (lxml's parser
# and the metadata reader: 30,000 took 3 s, a megabyte four minutes). Pages of the
# extraction benchmark have at most 258 children and 64 attributes.
MAX_CHILDREN = 5000
MAX_ATTRIBUTES = 1000
_LONG_TAG = re.compile(rf"<[A-Za-z][^<>]{{{4 * MAX_ATTRIBUTES},}}>")  # a="" is 4 or more

_SKIP = frozenset(
    {"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "canvas"}
)
_BLOCK = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "article",
        "section",
        "header",
        "footer",
        "nav",
        "aside",
        "main",
        "blockquote",
        "pre",
        "table",
        "tr",
        "td",
        "th",
        "figure",
        "figcaption",
        "dd",
        "dt",
        "dl",
        "form",
        "hr",
        "title",
        "body",
        "html",
    }
)


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    title: str | None
    published_at: str | None
    authors: list[str]
    source: str | None
    url: str | None
    language: str | None


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """All visible text of a page, a line per block element; no tree is built."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def split_authors(byline: str | None) -> list[str]:
    """'Jane Roe; John Doe' and 'Jane Roe and John Doe' are two authors."""
    if not byline:
        return []
    parts = re.split(r"\s*(?:;|,|\band\b|&|\|)\s*", byline)
    seen: list[str] = []
    for part in parts:
        name = re.sub(r"^(by|von|par|por)\s+", "", part.strip(), flags=re.IGNORECASE)
        if name and name not in seen and len(name) <= 80:
            seen.append(name)
    return seen


# trafilatura's precision mode drops more boilerplate, but now and then it cuts
# the article itself short. When it keeps under this share of what the default
# mode finds, the default mode's text is taken instead.
MIN_PRECISION_SHARE = 0.25
# A first pass's text looks cut short when it is under this many characters, or
# under ``MIN_PRECISION_SHARE`` of the text of the page's <p> elements (where most
# pages keep their article; they stand in for what the default pass would find).
SHORT_TEXT_CHARS = 500


def extract(html: str, *, url: str | None = None, page_date: str | None = None) -> Extracted:
    """The main text of a page, paragraphs separated by newlines, and its metadata.

    The page is parsed once, and every pass works on that tree. The first pass is
    trafilatura's precision mode without its fallback extractors (readability,
    jusText), which trafilatura itself only needs when its main extractor finds
    little. When that text looks cut short (``needs_default_pass``), the full
    cascade runs: the precision pass with its fallbacks and the default pass,
    whose text is taken when the precision text is under ``MIN_PRECISION_SHARE``
    of it. ``page_date``, the publication time already read from the page's meta
    tags, spares the slower date search. Returns empty text when the page has no
    article body. Pages over ``MAX_EXTRACT_CHARS``, and those with an element of
    more than ``MAX_CHILDREN`` children or a tag of more than ``MAX_ATTRIBUTES``
    attributes, are not given to trafilatura (see ``plain_text``).
    """
    nothing = Extracted("", None, None, [], None, url, None)
    if len(html) > MAX_EXTRACT_CHARS or _many_attributes(html):
        return nothing
    tree = load_html(html)
    if tree is None or any(len(element) > MAX_CHILDREN for element in tree.iter()):
        return nothing
    meta = metadata(tree, url, page_date=page_date)
    text, body = _pass(tree, url, favor_precision=True, fast=True)
    if needs_default_pass(text, tree) or deficient(body):
        precise = _text(tree, url, favor_precision=True, fast=False)
        text = pick_text(precise, _text(tree, url, favor_precision=False, fast=False))
    return Extracted(
        text=text,
        title=meta.title or None,
        published_at=meta.date or None,
        authors=split_authors(meta.author),
        source=meta.sitename or None,
        url=meta.url or url,
        language=meta.language or None,
    )


def _many_attributes(html: str) -> bool:
    """Whether a tag of ``html`` has more than ``MAX_ATTRIBUTES`` attributes; only tags
    long enough to hold that many are looked at, each once."""
    return any(m.group().count("=") > MAX_ATTRIBUTES for m in _LONG_TAG.finditer(html))


def needs_default_pass(precise: str | None, tree: HtmlElement) -> bool:
    """Whether a first pass's text looks cut short (see ``SHORT_TEXT_CHARS``): the
    full cascade then runs to compare."""
    chars = len(precise or "")
    if chars < SHORT_TEXT_CHARS:
        return True
    paragraphs = sum(len(p.text_content()) for p in tree.iter("p"))
    return chars < MIN_PRECISION_SHARE * paragraphs


def deficient(body: Any) -> bool:
    """Whether a first pass's text is structurally suspect, by trafilatura's own test
    (``external._prefer_readability``): it holds no paragraph text, or more tables
    than paragraphs. On pages laid out with nested tables the fast pass returns
    the layout table, rows of menu, byline and related links around the article
    cell, or only the menu and footer; long as that is, only the full cascade,
    whose readability pass finds the article cell, gets the article. (The fast pass
    skips that test: it never runs the fallbacks.)"""
    if body is None:
        return False
    return not body.xpath(".//p//text()") or len(body.findall(".//table")) > len(
        body.findall(".//p")
    )


def tabular(text: str) -> bool:
    """Whether extracted text is mostly rows of a layout table (trafilatura writes a
    kept table as ``| cell | cell |`` lines): on a page laid out with tables, where
    even the full cascade kept the layout table (a short article beside long menus
    and related lists), the article is one cell among its menus, not the text
    itself. A layout row has one or two cells; a data table's (standings, results)
    has more, and is part of its article."""
    rows = [line for line in text.splitlines() if line.strip()]
    if not rows:
        return False
    layout = sum(
        len(r)
        for r in rows
        if r.startswith("|") and r.rstrip().endswith("|") and _cells(r) <= LAYOUT_ROW_CELLS
    )
    return layout > 0.5 * sum(len(r) for r in rows)


#: The most cells a row of a layout table has (a data table's rows have more).
LAYOUT_ROW_CELLS = 2


def _cells(row: str) -> int:
    """How many cells a ``| a | b |`` row has (an escaped ``\\|`` is inside a cell)."""
    return max(row.replace("\\|", "").count("|") - 1, 1)


def pick_text(precise: str | None, full: str | None) -> str:
    """The precision pass's text, unless it kept under ``MIN_PRECISION_SHARE`` of
    the default pass's: then it has cut the article short."""
    precise, full = precise or "", full or ""
    return full if len(precise) < MIN_PRECISION_SHARE * len(full) else precise


def metadata(tree: HtmlElement, url: str | None, *, page_date: str | None = None) -> Document:
    """Title, author, URL, site name, language and date of a parsed page.

    trafilatura's ``extract_metadata`` without what this stage does not keep
    (categories, tags, licence), and without the date search when the page's
    meta tags already gave the date: those two parts cost more than the rest.
    """
    doc = tmeta.examine_meta(tree)
    if doc.author and " " not in doc.author:
        doc.author = None  # a single word is a handle, not a name
    with contextlib.suppress(Exception):  # trafilatura's JSON-LD reader has bugs of its own
        doc = tmeta.extract_meta_json(tree, doc)
    doc.title = doc.title or tmeta.extract_title(tree)
    doc.author = doc.author or tmeta.extract_author(tree)
    doc.url = doc.url or tmeta.extract_url(tree, url)
    if page_date is None:
        params = set_date_params(True)
        params["url"] = doc.url
        doc.date = find_date(tree, **params)
    if not doc.sitename:
        doc.sitename = tmeta.extract_sitename(tree)
    if doc.sitename:
        doc.sitename = doc.sitename.lstrip("@")
        if "." not in doc.sitename and doc.sitename[:1].islower():
            doc.sitename = doc.sitename.title()
    doc.clean_and_trim()
    return doc


def _text(tree: HtmlElement, url: str | None, *, favor_precision: bool, fast: bool) -> str:
    """One trafilatura pass over the tree (it works on its own copy); "" for none."""
    return _pass(tree, url, favor_precision=favor_precision, fast=fast)[0]


def _pass(
    tree: HtmlElement, url: str | None, *, favor_precision: bool, fast: bool
) -> tuple[str, Any]:
    """One trafilatura pass: its text ("" for none) and the body it was read from."""
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        include_images=False,
        deduplicate=False,
        favor_precision=favor_precision,
        fast=fast,
    )
    if doc is None or isinstance(doc, dict):
        return "", None
    return doc.text or "", doc.body
