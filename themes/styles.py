"""What a theme's colours and CSS must be, and the one CSS file a theme compiles to.

- Contrast: WCAG 2.x relative luminance; the pairs the site draws (`CONTRAST_PAIRS`) need 4.5:1.
- Custom CSS: parsed with tinycss2 (not searched with regexes) and refused, naming the field, when
  it imports, loads a URL outside the brand's own media (`/media/...` on its host), runs script-like
  constructs (`expression()`, `behavior`, `-moz-binding`, `javascript:`) or closes the style element.
- `theme_css_compile`: the font's `@font-face` (self-hosted files), the CSS variables the site's
  stylesheet (`themes/static/themes/site.css`) reads, then the brand's custom CSS.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import tinycss2
from django.templatetags.static import static
from django.utils.translation import gettext as _

MIN_CONTRAST = 4.5  # WCAG AA, body text
CUSTOM_CSS_MAX_BYTES = 20 * 1024
# (foreground field, background field, what the site draws with them)
CONTRAST_PAIRS = (
    ("text_color", "background_color", "text on background"),
    ("background_color", "primary_color", "button text (background colour) on primary"),
    ("text_color", "accent_color", "text on accent"),
)


@dataclass(frozen=True)
class Font:
    family: str  # the CSS font-family value
    files: str = ""  # folder under themes/fonts/ with <folder>-latin-{400,700}-normal.woff2


SANS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
SERIF = 'Georgia, Cambria, "Times New Roman", Times, serif'
FONTS = {
    "inter": Font(f'"Inter", {SANS}', "inter"),
    "atkinson-hyperlegible": Font(f'"Atkinson Hyperlegible", {SANS}', "atkinson-hyperlegible"),
    "lora": Font(f'"Lora", {SERIF}', "lora"),
    "ibm-plex-mono": Font(
        '"IBM Plex Mono", ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace', "ibm-plex-mono"
    ),
    "system-sans": Font(SANS),
    "system-serif": Font(SERIF),
}


def _luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two `#rrggbb` colours, 1 to 21."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrast_errors(colors: dict[str, str]) -> dict[str, list[str]]:
    """The pairs under 4.5:1, by the foreground's field: "text on background: 2.9:1, needs 4.5:1"."""
    errors: dict[str, list[str]] = {}
    for foreground, background, label in CONTRAST_PAIRS:
        ratio = contrast_ratio(colors[foreground], colors[background])
        if ratio < MIN_CONTRAST:
            # Rounded down: 4.47 is not shown as the 4.5 it fails.
            shown = int(ratio * 10) / 10
            errors.setdefault(foreground, []).append(
                _("%(pair)s: %(ratio)s:1, needs %(needed)s:1 (WCAG AA)")
                % {"pair": label, "ratio": f"{shown:.1f}", "needed": MIN_CONTRAST}
            )
    return errors


# --- custom CSS ----------------------------------------------------------------------------------

FORBIDDEN_AT_RULES = {"import", "charset", "namespace", "font-face"}
FORBIDDEN_FUNCTIONS = {"expression", "image-set", "-webkit-image-set", "element", "env"}
FORBIDDEN_PROPERTIES = {"behavior", "-moz-binding", "-ms-behavior"}
MEDIA_PREFIX = "/media/"


def _url_allowed(url: str) -> bool:
    """Only a file of the brand's own media, by its path on the brand's host."""
    url = url.strip()
    return (
        url.startswith(MEDIA_PREFIX)
        and ".." not in url
        and "%" not in url  # no escapes: `%2e%2e` is `..` to a browser
        and "\\" not in url
        and not any(ord(character) < 32 for character in url)
    )


def _walk(nodes: Any) -> list[str]:
    """The reasons to refuse what tinycss2 parsed, in order."""
    problems: list[str] = []
    for node in nodes or ():
        kind = getattr(node, "type", None)
        if kind == "error":
            problems.append(_("cannot be parsed: %(message)s") % {"message": node.message})
        elif kind == "at-rule":
            if node.lower_at_keyword in FORBIDDEN_AT_RULES:
                problems.append(_("@%(rule)s is not allowed") % {"rule": node.lower_at_keyword})
            problems += _walk(node.prelude) + _walk(_rules_or_tokens(node.content))
        elif kind == "qualified-rule":
            problems += _walk(node.prelude) + _walk(_rules_or_tokens(node.content))
        elif kind == "declaration":
            if node.lower_name in FORBIDDEN_PROPERTIES:
                problems.append(_("the %(property)s property is not allowed") % {"property": node.lower_name})
            problems += _walk(node.value)
        elif kind == "url":
            if not _url_allowed(node.value):
                problems.append(
                    _("url(%(url)s) is not allowed: only the brand's own media (/media/...)")
                    % {"url": node.value[:80]}
                )
        elif kind == "function":
            name = node.lower_name
            if name in FORBIDDEN_FUNCTIONS:
                problems.append(_("%(function)s() is not allowed") % {"function": name})
            elif name in {"url", "src"}:
                strings = [token.value for token in node.arguments if token.type == "string"]
                if not strings or not all(_url_allowed(value) for value in strings):
                    shown = (strings or ["?"])[0][:80]
                    problems.append(
                        _("url(%(url)s) is not allowed: only the brand's own media (/media/...)")
                        % {"url": shown}
                    )
            problems += _walk(node.arguments)
        elif kind in {"() block", "[] block", "{} block"}:
            problems += _walk(node.content)
        elif kind in {"string", "ident"} and "javascript:" in node.value.lower().replace(" ", ""):
            problems.append(_("javascript: is not allowed"))
    return problems


def _rules_or_tokens(content: Any) -> list:
    """A block's content as declarations and nested rules (what a browser reads), or nothing."""
    if content is None:
        return []
    serialized = tinycss2.serialize(content)
    return tinycss2.parse_blocks_contents(serialized, skip_comments=True, skip_whitespace=True)


def custom_css_problems(css: str) -> list[str]:
    """Why the brand's custom CSS is refused (an empty list when it is not)."""
    size = len(css.encode())
    if size > CUSTOM_CSS_MAX_BYTES:
        return [
            _("at most %(max)s KB (this is %(size)s bytes)")
            % {"max": CUSTOM_CSS_MAX_BYTES // 1024, "size": size}
        ]
    lowered = css.lower()
    problems = []
    if "</style" in lowered or "<!--" in lowered or "<" in css:
        problems.append(_("the character < is not allowed (no HTML, no </style>)"))
    if "javascript:" in lowered.replace(" ", ""):
        problems.append(_("javascript: is not allowed"))
    if "\\" in css:
        # CSS escapes would spell any forbidden word in a way this check does not read.
        problems.append(_("backslash escapes are not allowed"))
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    problems += [problem for problem in _walk(rules) if problem not in problems]
    return problems


# --- the compiled file ---------------------------------------------------------------------------


def _font_faces(font: Font) -> str:
    if not font.files:
        return ""
    name = font.family.split(",")[0]
    return "".join(
        f"@font-face{{font-family:{name};font-style:normal;font-weight:{weight};font-display:swap;"
        f'src:url("{static(f"themes/fonts/{font.files}/{font.files}-latin-{weight}-normal.woff2")}")'
        ' format("woff2")}\n'
        for weight in (400, 700)
    )


def _css_string(url: str) -> str:
    return '"' + url.replace("\\", "").replace('"', "%22").replace("\n", "") + '"'


@lru_cache(maxsize=256)  # by the theme's values: each theme (each hash) compiled once per process
def theme_css_compile(
    *,
    primary_color: str,
    accent_color: str,
    background_color: str,
    text_color: str,
    font: str,
    corner_radius: int,
    hero_url: str,
    custom_css: str,
) -> str:
    """The brand's CSS file: its font, its variables, its custom CSS (already checked)."""
    chosen = FONTS.get(font, FONTS["system-sans"])
    hero = f"url({_css_string(hero_url)})" if hero_url else "none"
    variables = (
        ":root{"
        f"--theme-primary:{primary_color};--theme-accent:{accent_color};"
        f"--theme-background:{background_color};--theme-text:{text_color};"
        f"--theme-font:{chosen.family};--theme-radius:{corner_radius}px;--theme-hero:{hero}"
        "}\n"
    )
    custom = f"/* the brand's own CSS */\n{custom_css}\n" if custom_css.strip() else ""
    return _font_faces(chosen) + variables + custom


@lru_cache(maxsize=256)
def css_hash(css: str) -> str:
    return hashlib.sha256(css.encode()).hexdigest()[:16]
