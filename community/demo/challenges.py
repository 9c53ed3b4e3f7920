"""The demo brands' challenges."""

from __future__ import annotations


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    return None
