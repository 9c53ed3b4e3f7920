"""Segments: saved filters over members (`loyalty.selectors.segments` reads them), created and
changed with one validation for the backoffice form and the REST API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core.errors import InvalidInput
from loyalty.models import Segment
from loyalty.selectors.segments import filter_field, segment_filters_errors

SEGMENT_FIELDS = ("name", "description", "filters")


def segment_validate(*, data: dict[str, Any], segment: Segment | None = None) -> Segment:
    """`segment` (or a new segment) with `data` applied and checked, not saved. A filter's errors
    are named by their path under `filters` (`filters.balance.min`)."""
    unknown = sorted(set(data) - set(SEGMENT_FIELDS))
    if unknown:
        raise InvalidInput({field: ["is not a segment field"] for field in unknown})
    segment = segment or Segment()
    for field, value in data.items():
        setattr(segment, field, {} if field == "filters" and value is None else value)
    errors: dict[str, list[str]] = {}
    try:
        segment.full_clean(validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    if "filters" not in errors:
        for key, messages in segment_filters_errors(segment.filters).items():
            errors[filter_field(key)] = messages
    if errors:
        raise InvalidInput(errors)
    return segment


def segment_save(*, data: dict[str, Any], segment: Segment | None = None) -> Segment:
    """Create or change (the fields in `data`) a segment."""
    with transaction.atomic():
        locked = Segment.objects.select_for_update().get(pk=segment.pk) if segment and segment.pk else None
        segment = segment_validate(data=data, segment=locked)
        segment.save()
    return segment
