"""The HTML part of an e-mail (README, "Messaging > E-mail"): the message's text, rendered by the
sandbox as plain text, escaped and laid out in paragraphs with its links made clickable, dressed
with the brand's theme (logo, colours, font, programme name) in a table layout that mail clients
render alike, its CSS inlined (css-inline), and the unsubscribe link in the footer.

Nothing brand staff or members write reaches the HTML unescaped: the body is escaped here, and
the names go through Django's autoescaping template; colours are `#rrggbb` or the defaults.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache

import css_inline
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape, urlize
from django.utils.safestring import SafeString, mark_safe

from messaging.models import Channel
from messaging.selectors.variables import site_url
from messaging.services.unsubscribe import unsubscribe_url
from themes.selectors import ThemeData, theme_data
from themes.styles import contrast_ratio

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_DEFAULTS = {"primary": "#1f4fa3", "accent": "#f2d479", "background": "#ffffff", "text": "#1d2330"}
# WCAG AA for normal text.
_MIN_CONTRAST = 4.5
# Kept: the media queries of the narrow layout (mail clients that read <style> apply them).
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def body_html(text: str, *, link_color: str = _DEFAULTS["primary"]) -> SafeString:
    """Plain text as HTML: escaped, a paragraph per blank-line block, line breaks kept, web
    addresses and e-mail addresses as links; styled inline (the frame is inlined once, the body
    goes in after)."""
    paragraphs = [part.strip("\n") for part in _PARAGRAPHS.split(text.replace("\r\n", "\n")) if part.strip()]
    link = f'<a style="color: {_color(link_color, _DEFAULTS["primary"])};text-decoration: underline;" href='
    rendered = [
        # urlize escapes the text; a "<a href=" of the text itself is "&lt;a href=" by then.
        urlize(part, nofollow=False, autoescape=True).replace("<a href=", link).replace("\n", "<br>\n")
        for part in paragraphs
    ]
    margins = ["margin: 0 0 16px 0;"] * (len(rendered) - 1) + ["margin: 0;"]
    return mark_safe(  # noqa: S308 (each part escaped by urlize)
        "\n".join(f'<p style="{margin}">{part}</p>' for margin, part in zip(margins, rendered, strict=False))
    )


def _color(value: str, default: str) -> str:
    return value.lower() if _HEX.match(value or "") else default


def _mix(color: str, other: str, share: float) -> str:
    """`color` with `share` of `other` mixed in."""
    channels = [
        round(int(color[i : i + 2], 16) * (1 - share) + int(other[i : i + 2], 16) * share) for i in (1, 3, 5)
    ]
    return "#" + "".join(f"{channel:02x}" for channel in channels)


def _readable_on(background: str, *candidates: str) -> str:
    """The first of `candidates` readable on `background`, else black or white, whichever is."""
    for candidate in candidates:
        if contrast_ratio(candidate, background) >= _MIN_CONTRAST:
            return candidate
    return max(("#000000", "#ffffff"), key=lambda color: contrast_ratio(color, background))


def email_colors(theme: ThemeData) -> dict[str, str]:
    primary = _color(theme.primary_color, _DEFAULTS["primary"])
    background = _color(theme.background_color, _DEFAULTS["background"])
    text = _readable_on(background, _color(theme.text_color, _DEFAULTS["text"]))
    return {
        "primary": primary,
        "accent": _color(theme.accent_color, _DEFAULTS["accent"]),
        "background": background,
        "text": text,
        "on_primary": _readable_on(primary, background, text),
        "muted": _readable_on(background, _mix(text, background, 0.3), text),
        "line": _mix(background, text, 0.12),
        "page": _mix(background, text, 0.05),
    }


# Where the frame (rendered and inlined once per theme and language) takes each message's parts:
# random per process, so that no text of a brand's can name them.
_SLOT = secrets.token_hex(8)
_SLOTS = {name: f"slot-{name}-{_SLOT}" for name in ("subject", "body", "unsubscribe")}
_SLOT_PATTERN = re.compile("|".join(_SLOTS.values()))


@lru_cache(maxsize=256)
def _frame(
    *,
    language: str,
    programme_name: str,
    logo_url: str,
    site_url: str,
    colors: tuple[tuple[str, str], ...],
    font_family: str,
    radius: int,
    with_unsubscribe: bool,
) -> str:
    """The e-mail around its body, CSS inlined, with the slots of `_SLOTS` in it."""
    context = {
        "subject": _SLOTS["subject"],
        "language": language,
        "programme_name": programme_name,
        "logo_url": logo_url,
        "site_url": site_url,
        "unsubscribe_url": _SLOTS["unsubscribe"] if with_unsubscribe else "",
        "colors": dict(colors),
        # Our own font stacks (themes.styles.FONTS), never text brand staff wrote; web fonts are
        # not loaded by mail clients, the stack's next fonts are used.
        "font_family": mark_safe(font_family.replace('"', "'")),  # noqa: S308
        "radius": min(max(radius, 0), 32),
        "body_html": _SLOTS["body"],
    }
    with translation.override(language):
        html = render_to_string("messaging/email/message.html", context)
    return _INLINER.inline(html)


def email_html(
    *,
    subject: str,
    body: str,
    language: str,
    unsubscribe_url: str,
    site_url: str,
    theme: ThemeData | None = None,
) -> str:
    """The e-mail's HTML part, CSS inlined, in `language` (the footer's words). The frame is
    built once per theme, language and site (a campaign builds thousands alike)."""
    theme = theme or theme_data()
    base = site_url.rstrip("/")
    logo_url = ""
    if theme.logo and base:
        logo_url = (
            theme.logo.url if theme.logo.url.startswith(("http://", "https://")) else base + theme.logo.url
        )
    colors = email_colors(theme)
    frame = _frame(
        language=language,
        programme_name=theme.programme_name,
        logo_url=logo_url,
        site_url=site_url,
        colors=tuple(sorted(colors.items())),
        font_family=theme.font_family,
        radius=theme.corner_radius,
        with_unsubscribe=bool(unsubscribe_url),
    )
    parts = {
        _SLOTS["subject"]: escape(subject),
        _SLOTS["unsubscribe"]: escape(unsubscribe_url),
        _SLOTS["body"]: body_html(body, link_color=colors["primary"]),
    }
    return _SLOT_PATTERN.sub(lambda found: parts[found.group(0)], frame)


def message_email_html(*, member_id: int, subject: str, body: str, language: str) -> str:
    """The HTML part of a member's message (`messaging.services.sending.message_build` stores it on
    the message, and it is what is sent), with the member's unsubscribe link."""
    return email_html(
        subject=subject,
        body=body,
        language=language,
        unsubscribe_url=unsubscribe_url(member_id=member_id, channel=Channel.EMAIL),
        site_url=site_url(),
    )
