"""The demo brands' reviews."""

from __future__ import annotations


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    return None
