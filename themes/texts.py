"""A brand's Markdown texts as HTML that is safe to show: markdown-it renders (raw HTML off), then
nh3 (Ammonia) keeps an allowlist of tags and attributes; links only http, https and mailto, each
with rel="nofollow noopener noreferrer"."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "h2", "h3", "h4",
    "blockquote", "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


@lru_cache(maxsize=512)
def markdown_html(text: str) -> str:
    """The sanitised HTML of a Markdown text ("" for none)."""
    if not text.strip():
        return ""
    html = nh3.clean(
        _markdown.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )
    return html.strip()
