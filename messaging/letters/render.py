"""Letters and the printed catalogue as HTML (Django templates, autoescaped) and PDF (WeasyPrint).

Everything here works on plain data (`Letterhead`, `LetterContent`, `CatalogueGift`): the services
read the models, this module lays out pages. What brand staff wrote (the template's text, gift
names and descriptions, the programme's name) reaches the page escaped: a letter's body is
rendered as text in the sandbox, then escaped whole, its blank lines made paragraphs.

Rendering many letters is fast when they are one document: a chunk of letters is one HTML page
list (each letter starts a page and carries an anchor `letter-<n>`), rendered once; the page of
each anchor says where each letter starts. WeasyPrint fetches only `data:` URIs and files under
the brand's media folder (`_fetcher`): no network, nothing else of the disk.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import url2pathname

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from weasyprint import Document  # type: ignore[import-untyped]

# WeasyPrint logs each step and each page at INFO: 10,000 lines a batch in the worker's log (and its
# own stylesheets' parsing as it is imported).
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
_PARAGRAPHS = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Letterhead:
    """The brand's look on paper (from `themes.selectors.theme_data()`)."""

    programme_name: str
    primary_color: str
    accent_color: str
    font_family: str
    logo_url: str  # file:// URL of the logo in the brand's media folder, "" for none
    site_url: str
    language: str = "fr"

    @property
    def primary(self) -> str:
        return self.primary_color if _COLOR.match(self.primary_color or "") else "#1f4fa3"

    @property
    def accent(self) -> str:
        return self.accent_color if _COLOR.match(self.accent_color or "") else "#f2d479"


@dataclass(frozen=True)
class LetterContent:
    anchor: str  # "letter-<position>": where the letter's first page is found back
    address: Sequence[str]
    date: str
    body: SafeString  # `letter_body_html` of the rendered text
    code: str  # the activation code grouped (K7QM-2XPD-9R), "" when none was issued
    code_expires: str
    qr: str  # a data: URI, "" for none
    activation_url: str
    language: str


@dataclass(frozen=True)
class CatalogueGift:
    reference: str
    name: str
    description: str
    points: str  # formatted in the language
    category: str
    photo_url: str  # file:// URL, "" for none


def letter_body_html(text: str) -> SafeString:
    """A letter's text (rendered by the sandbox as text) as HTML: every character escaped, blank
    lines between paragraphs, single line breaks kept."""
    paragraphs = [part.strip() for part in _PARAGRAPHS.split(text.strip()) if part.strip()]
    html = "".join(f"<p>{escape(part).replace(chr(10), '<br>')}</p>" for part in paragraphs)
    return mark_safe(html)  # noqa: S308  (every part escaped above)


def qr_data_uri(url: str) -> str:
    """A QR code of `url` as a PNG data URI (error correction M, no border: the layout frames it).
    A PNG, not an SVG: the same image on every letter of a document is stored once in the PDF,
    where an SVG's squares are drawn again on each page (three times slower to write)."""
    return segno.make(url, error="m").png_data_uri(scale=10, border=0)


def file_url(path: str) -> str:
    return Path(path).resolve().as_uri() if path else ""


# WeasyPrint is imported by the first rendering, not with this module: its import (Pango through
# cffi) costs about a second, paid otherwise by every process that loads the admin (web processes,
# workers, commands), letters or not.
@functools.cache
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    class Fetcher(URLFetcher):
        """WeasyPrint's fetcher limited to `data:` URIs and files under the media folder or the
        letters' own static files."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False)
            self._roots = [os.path.realpath(settings.MEDIA_ROOT)]

        def fetch(self, url, headers=None):
            if url.lower().startswith("file:"):
                path = os.path.realpath(url2pathname(urlsplit(url).path))
                if not any(path == root or path.startswith(root + os.sep) for root in self._roots):
                    raise ValueError(f"not a file of the brand's media: {url}")
            return super().fetch(url, headers)

    return Fetcher


def _document(html: str) -> Document:
    from weasyprint import HTML

    return HTML(string=html, base_url=str(settings.MEDIA_ROOT), url_fetcher=_fetcher_class()()).render()


def letters_html(*, letterhead: Letterhead, letters: Sequence[LetterContent]) -> str:
    return render_to_string("messaging/letters/letters.html", {"letterhead": letterhead, "letters": letters})


def catalogue_html(*, letterhead: Letterhead, gifts: Sequence[CatalogueGift], standalone: bool) -> str:
    """The printed catalogue's pages; `standalone`: the booklet with its cover and page numbers,
    else the pages that follow a letter."""
    return render_to_string(
        "messaging/letters/catalogue.html",
        {"letterhead": letterhead, "gifts": gifts, "standalone": standalone},
    )


@dataclass(frozen=True)
class RenderedPdf:
    pdf: bytes
    # Per letter, in order: (first page, 1-based within this PDF, and its number of pages).
    pages: list[tuple[int, int]]


def letters_pdf(*, html: str, anchors: Sequence[str], catalogue: str = "") -> RenderedPdf:
    """The letters of `html` (one document) as one PDF, each followed by the pages of `catalogue`
    (rendered once) when given; where each letter starts and how many pages it has."""
    document = _document(html)
    where: dict[str, int] = {}
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            where.setdefault(anchor, index)
    missing = [anchor for anchor in anchors if anchor not in where]
    if missing:
        raise RuntimeError(f"letters {', '.join(missing)} have no page in the rendered document")
    starts = [where[anchor] for anchor in anchors]
    ends = [*starts[1:], len(document.pages)]
    extra = _document(catalogue).pages if catalogue else []
    pages: list = []
    layout: list[tuple[int, int]] = []
    for start, end in zip(starts, ends, strict=True):
        layout.append((len(pages) + 1, end - start + len(extra)))
        pages += document.pages[start:end] + extra
    output = io.BytesIO()
    (document.copy(pages) if extra else document).write_pdf(output)
    return RenderedPdf(pdf=output.getvalue(), pages=layout)


def catalogue_pdf(*, html: str) -> bytes:
    return _document(html).write_pdf()
