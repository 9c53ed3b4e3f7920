"""The events' beat task: the reminders of the day before, in every brand (`gatherings.services`)."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import schema_context

from tenants.selectors import brand_list

from .services import reminders_due_send

logger = logging.getLogger(__name__)


@shared_task(name="gatherings.reminders_due_all")
def reminders_due_all_task() -> int:
    """In every brand, in its schema, remind the confirmed members of events starting within a day;
    each RSVP once however often it runs. A brand that fails is logged and the others go on. How
    many RSVPs were reminded."""
    reminded = 0
    for schema_name in brand_list().values_list("schema_name", flat=True):
        with schema_context(schema_name):
            try:
                reminded += reminders_due_send()
            except Exception:
                logger.exception("the event reminders of %s did not run", schema_name)
    return reminded
