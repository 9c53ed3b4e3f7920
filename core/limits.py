"""Limits the API promises and the models that store its input are sized by (defined once)."""

from __future__ import annotations

from django.db.models import CharField, Model

# The `Idempotency-Key` header (core.api.base) and the models storing it as it came
# (loyalty.ActivityEvent, catalog.Order) take keys of at most this many characters.
IDEMPOTENCY_KEY_MAX_LENGTH = 128


def field_max_length(*, model: type[Model], field: str) -> int:
    """The `max_length` of a model's text field: what its service checks input against."""
    found = model._meta.get_field(field)
    if not isinstance(found, CharField) or found.max_length is None:
        raise TypeError(f"{model.__name__}.{field} is not a text field with a max_length")
    return found.max_length
