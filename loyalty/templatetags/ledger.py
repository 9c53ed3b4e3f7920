"""`{{ entry|in_words }}`: a ledger entry's cause as a sentence (`loyalty.selectors.explanations`)."""

from __future__ import annotations

from django import template

from loyalty.models import LedgerEntry
from loyalty.selectors.explanations import entry_in_words

register = template.Library()


@register.filter
def in_words(entry: LedgerEntry) -> str:
    return entry_in_words(entry=entry)
