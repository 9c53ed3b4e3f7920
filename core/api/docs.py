"""The API's documentation pages on each brand's host, beside Swagger UI and ReDoc: the getting
started guide, `docs/getting-started.md` rendered (its code blocks are run by a test)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

GETTING_STARTED = settings.BASE_DIR / "docs" / "getting-started.md"


def markdown_html(text: str) -> str:
    """CommonMark as HTML, sanitised: raw HTML in the text is escaped, not passed through, and
    links to `javascript:` and the like are refused (markdown-it's link validation)."""
    return MarkdownIt("commonmark", {"html": False}).render(text)


def getting_started(request: HttpRequest) -> HttpResponse:
    content = mark_safe(markdown_html(GETTING_STARTED.read_text()))  # noqa: S308 - escaped by markdown_html
    api = request.build_absolute_uri("/api/v1")
    return render(request, "core/api/getting_started.html", {"content": content, "api": api})
