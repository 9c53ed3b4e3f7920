"""Brands' message templates, rendered in Jinja2's sandbox over plain data (no Django in here).

Brand staff write the templates, so they are untrusted: they are rendered by a
`SandboxedEnvironment` with `StrictUndefined`, over a flat dict of strings and numbers (never a
model object), and checked when they are saved: a variable the catalogue does not name, an
attribute starting with `_`, or a syntax error is refused then, not when a message is sent.

The sandbox stops reaching Python's insides, not work: a template could still ask for
`{{ "x" * 10**9 }}` or `first_name.center(10**9)` and exhaust a worker. So `_Bounded` refuses
powers, caps what a repetition (`*`) makes, calls only the string methods of `STR_METHODS`, offers
only the filters of `FILTERS` and no globals (no `range`), and a rendered text longer than
`RENDER_MAX_LENGTH` is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

# Longest template body accepted, in characters (a letter is the longest: about two pages).
TEMPLATE_MAX_LENGTH = 20_000
# Longest text a template may render, and longest a repetition (`"-" * 40`) may make.
RENDER_MAX_LENGTH = 100_000
REPEAT_MAX_LENGTH = 1_000
# What a template may call on a string (none of them makes a longer one than it is given).
STR_METHODS = frozenset(
    {
        "upper",
        "lower",
        "title",
        "capitalize",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "isdigit",
    }
)
# The filters a template may use: Jinja's, minus those whose output can outgrow their input many
# times over (center, indent, replace, format, wordwrap, ...) or that read outside the data.
FILTERS = frozenset(
    {
        "abs", "capitalize", "default", "d", "e", "escape", "first", "float", "int", "join", "last",
        "length", "count", "lower", "round", "striptags", "title", "trim", "truncate", "upper",
        "wordcount",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    example: str


# Every variable a template may use. `messaging.variables.message_variables` gives each a value
# for one member (an empty string where the message has none, e.g. `gift` outside an order).
VARIABLES: tuple[Variable, ...] = (
    Variable("first_name", "the member's first name", "Camille"),
    Variable("last_name", "the member's last name", "Martin"),
    Variable("name", "the member's full name, or their company's", "Camille Martin"),
    Variable("company", "the member's company (B2B)", "Tabac du Port"),
    Variable("programme_name", "the programme's name", "CityCar Club"),
    Variable("site_url", "the address of the brand's site", "https://citycar.example"),
    Variable("balance", "the member's balance, formatted", "1 250"),
    Variable("balance_value", "what the balance is worth, with its currency", "62,50 €"),
    Variable("points_earned", "the points just earned, formatted", "200"),
    Variable("points_expiring", "the points that expire next, formatted", "300"),
    Variable("expiry_date", "the date they expire, in words", "31 mars 2027"),
    Variable("tier", "the member's tier", "Gold"),
    Variable("activation_code", "the member's activation code (letters, launch mailings)", "K7QH-M2XD-9PRT"),
    Variable("activation_url", "the activation page", "https://tabac-pro.example/activate/"),
    Variable("gift", "the gift of the order", "Coffee mug"),
    Variable("order_number", "the order's number", "A-1042"),
    Variable("order_status", "the order's status, in words", "shipped"),
    Variable("event_title", "the event's title (events with limited seats)", "Bordeaux tasting"),
    Variable("event_date", "when the event starts, in words", "12 mars 2027, 19:00"),
    Variable("event_place", "where the event takes place", "12 quai des Chartrons, Bordeaux"),
    Variable("event_url", "the event's page on the site", "https://grand-cru.example/events/3/"),
    Variable("subject_name", "the reviewed product, service or place (community reviews)", "Margaux 2015"),
    Variable("review_url", "the item's page and review form", "https://citycar.example/reviews/service/H1/"),
    Variable("draw_name", "the prize draw's name (community draws)", "Summer draw"),
    Variable("draw_prize", "the prize won", "A weekend in Biarritz"),
    Variable("draw_date", "when the draw was drawn, in words", "12 mars 2027, 19:00"),
    Variable("draw_url", "the draw's page (seed, winners)", "https://citycar.example/community/draws/3/"),
    Variable("challenge_name", "the challenge completed (community challenges)", "3 happy-hour trips"),
    Variable(
        "challenges_url", "the member's challenges page", "https://citycar.example/community/challenges/"
    ),
    Variable("rejection_reason", "why a community text was rejected", "Insulting or abusive language"),
    Variable("rejection_note", "the moderator's note to its author", "Please rephrase it."),
    Variable("rejection_url", "the text's page, or the rules", "https://citycar.example/community/rules/"),
    Variable("portal_url", "where the member manages their VIP subscription", "https://citycar.example/vip/"),
    Variable("unsubscribe_url", "the one-click unsubscribe link (e-mails)", "https://citycar.example/u/..."),
)
VARIABLE_NAMES = frozenset(variable.name for variable in VARIABLES)


class TemplateRefused(Exception):
    """A template that cannot be saved or rendered; `errors` are readable sentences."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class _Bounded(SandboxedEnvironment):
    """The sandbox with bounds on work (module docstring)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("powers (**) are not allowed")
        repeated = left if isinstance(left, str | list) else right if isinstance(right, str | list) else None
        if repeated is not None:
            times = right if repeated is left else left
            if isinstance(times, int) and len(repeated) * times > REPEAT_MAX_LENGTH:
                raise SecurityError(f"a repetition may make at most {REPEAT_MAX_LENGTH} characters")
        return super().call_binop(context, operator, left, right)

    def is_safe_callable(self, obj: Any) -> bool:
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str) and getattr(obj, "__name__", "") not in STR_METHODS:
            return False
        return super().is_safe_callable(obj)


def _environment(*, html: bool) -> SandboxedEnvironment:
    environment = _Bounded(
        undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True, trim_blocks=True
    )
    environment.globals.clear()
    environment.filters = {name: environment.filters[name] for name in FILTERS}
    return environment


_TEXT = _environment(html=False)
_HTML = _environment(html=True)


def template_errors(source: str) -> list[str]:
    """What is wrong with a template brand staff wrote (empty: it may be saved)."""
    if len(source) > TEMPLATE_MAX_LENGTH:
        return [f"The template is too long: {len(source)} characters, at most {TEMPLATE_MAX_LENGTH}."]
    try:
        tree = _TEXT.parse(source)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        return [f"Line {line}: {error.message}" if line else str(error)]
    errors: list[str] = []
    assigned = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    used = sorted(
        {node.name for node in tree.find_all(nodes.Name) if node.ctx == "load"} - assigned - VARIABLE_NAMES
    )
    errors += [f"Unknown variable “{name}”." for name in used]
    for node in tree.find_all(nodes.Getattr):
        if node.attr.startswith("_"):
            errors.append(f"Line {node.lineno}: “{node.attr}” cannot be used in a template.")
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        errors.append(f"Line {node.lineno}: templates cannot include or import other templates.")
    for node in tree.find_all(nodes.Pow):
        errors.append(f"Line {node.lineno}: powers (**) cannot be used in a template.")
    for node in tree.find_all(nodes.Filter):
        if node.name not in FILTERS:
            errors.append(f"Line {node.lineno}: the filter “{node.name}” cannot be used in a template.")
    return errors


def template_render(source: str, variables: Mapping[str, object], *, html: bool = False) -> str:
    """`source` rendered over `variables` (strings and numbers); `html` escapes the values.
    Raises `TemplateRefused` for a template `template_errors` refuses or that the sandbox stops."""
    try:
        rendered = _compiled(source, html).render(dict(variables))
    except SecurityError as error:
        raise TemplateRefused([f"Refused by the sandbox: {error}"]) from error
    except TemplateError as error:
        raise TemplateRefused([str(error)]) from error
    if len(rendered) > RENDER_MAX_LENGTH:
        raise TemplateRefused([f"The text rendered is too long: over {RENDER_MAX_LENGTH} characters."])
    return rendered


@functools.lru_cache(maxsize=256)
def _compiled(source: str, html: bool) -> Template:
    """`source` checked and compiled once per process (a campaign renders one template for every
    member); a refused source raises each time, it is not kept."""
    errors = template_errors(source)
    if errors:
        raise TemplateRefused(errors)
    return (_HTML if html else _TEXT).from_string(source)


@functools.lru_cache(maxsize=256)
def template_variables(source: str) -> frozenset[str]:
    """The catalogue's variables `source` uses (so a message computes only those). Raises
    `TemplateRefused` for a source that does not parse (one stored before a check, by hand)."""
    try:
        tree = _TEXT.parse(source)
    except TemplateError as error:
        raise TemplateRefused([str(error)]) from error
    return frozenset(node.name for node in tree.find_all(nodes.Name) if node.ctx == "load") & VARIABLE_NAMES
