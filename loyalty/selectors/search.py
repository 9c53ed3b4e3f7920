"""The backoffice's member search (README "Backoffice"): by the start of a name, an e-mail, a phone
number, an external id or a company name, case-insensitive, among the members the user may see.

Each field is searched on its own index (`loyalty.search_keys`, migration 0021), `limit` rows
each, read in index order: a one-letter query reads no more rows than a long one. The union of
those few rows is then sorted by name (bench/member_search.py: a million members). A sales rep's
portfolio is read through the sales rep's index instead."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q, QuerySet

from loyalty.models import Member
from loyalty.search_keys import SEARCH_KEYS
from loyalty.selectors.members import VIEW_EVERY_MEMBER, members_visible

SEARCH_LIMIT_MAX = 100

_NOT_PHONE = re.compile(r"[\s.\-()]")


def _phone_prefix(query: str) -> str | None:
    """A phone number as stored (E.164: "+33612345678") from what staff type ("+33 6 12", "0033 6").
    None when the query is not the start of a number (three digits at least)."""
    digits = _NOT_PHONE.sub("", query)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not re.fullmatch(r"\+?\d{3,}", digits):
        return None
    return digits if digits.startswith("+") else "+" + digits


def _matches(key: str, prefix: str, visible: QuerySet[Member], limit: int) -> QuerySet[Any, int]:
    expression, condition = SEARCH_KEYS[key]
    return (
        visible.filter(condition)
        .annotate(search_key=expression)
        .filter(search_key__startswith=prefix)
        .order_by("search_key")
        .values_list("pk", flat=True)[:limit]
    )


def _branches(text: str) -> list[tuple[str, str]]:
    """(key, prefix) of each key searched for `text`: the phone only for what may start a number."""
    branches = [(key, text) for key in SEARCH_KEYS if key != "phone"]
    phone = _phone_prefix(text)
    if phone is not None:
        branches.append(("phone", phone))
    return branches


def member_search(*, user: Any, query: str, limit: int = 20) -> list[Member]:
    """The members `user` may see (`members_visible`: their portfolio without
    `loyalty.view_every_member`) whose name, last name, e-mail, company, external id or phone starts
    with `query` (spaces at its ends ignored, case-insensitive), at most `limit`, by name."""
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    text = " ".join(query.split()).lower()
    if not text:
        return []
    visible = members_visible(user=user)
    if user.has_perm(VIEW_EVERY_MEMBER):
        branches = [_matches(key, prefix, visible, limit) for key, prefix in _branches(text)]
        found = Member.objects.filter(pk__in=list(branches[0].union(*branches[1:])))
    else:
        # A portfolio (a few thousand members at most) is read through its sales rep's index, then
        # filtered: the keys' indexes would walk every member's entries for the prefix.
        matches = Q()
        for key, prefix in _branches(text):
            condition = SEARCH_KEYS[key][1]
            matches |= condition & Q(**{f"search_{key}__startswith": prefix})
        annotations = {f"search_{key}": SEARCH_KEYS[key][0] for key in SEARCH_KEYS}
        found = visible.annotate(**annotations).filter(matches)
    return list(
        found.select_related("tier").order_by("last_name", "first_name", "company_name", "external_id")[
            :limit
        ]
    )
