"""Triggers' task: beat's hourly run of the time-based triggers (points expiring, activation
reminders) in every brand (`messaging.triggers`). Imported by `MessagingConfig.ready`."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import schema_context

from tenants.selectors import brand_list

from .triggers import triggers_due_fire

logger = logging.getLogger(__name__)


@shared_task(name="messaging.triggers_due_all")
def triggers_due_all_task() -> int:
    """In every brand, in its schema, queue what its time-based triggers send now; their dedupe
    keys (the member and day, the code) make a run again, or the next hour's, send nothing twice.
    A brand that fails is logged and the others go on. How many messages were queued."""
    queued = 0
    for schema_name in brand_list().values_list("schema_name", flat=True):
        with schema_context(schema_name):
            try:
                queued += triggers_due_fire()
            except Exception:
                logger.exception("the triggers of %s did not run", schema_name)
    return queued
