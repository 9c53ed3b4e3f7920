"""Limits are defined once: the idempotency keys the API accepts fit every model that stores one."""

from __future__ import annotations

from django.apps import apps

from catalog.services import IDEMPOTENCY_KEY_MAX as ORDER_KEY_MAX
from core.limits import IDEMPOTENCY_KEY_MAX_LENGTH
from loyalty.api.parsing import BATCH_MAX as PARSED_BATCH_MAX
from loyalty.services.events import BATCH_MAX, IDEMPOTENCY_KEY_MAX


def test_the_idempotency_key_header_fits_every_model_storing_a_key():
    lengths = {
        model.__name__: model._meta.get_field("idempotency_key").max_length
        for model in apps.get_models()
        if any(field.name == "idempotency_key" for field in model._meta.get_fields())
    }
    assert {"ActivityEvent", "Order"} <= set(lengths)
    assert all(length >= IDEMPOTENCY_KEY_MAX_LENGTH for length in lengths.values()), lengths


def test_services_read_their_key_limit_from_their_model():
    assert (
        IDEMPOTENCY_KEY_MAX
        == apps.get_model("loyalty", "ActivityEvent")._meta.get_field("idempotency_key").max_length
    )
    assert ORDER_KEY_MAX == apps.get_model("catalog", "Order")._meta.get_field("idempotency_key").max_length
    assert PARSED_BATCH_MAX is BATCH_MAX
