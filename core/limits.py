"""Limits the API promises and the models that store its input are sized by (defined once)."""

from __future__ import annotations

# The `Idempotency-Key` header (core.api.base) and the models storing it as it came
# (loyalty.ActivityEvent, catalog.Order) take keys of at most this many characters.
IDEMPOTENCY_KEY_MAX_LENGTH = 128
