"""The auctions' beat task: close the auctions whose closing time has passed, in every brand
(`community.services.auctions.auctions_close_due`)."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import schema_context

from community.services.auctions import auctions_close_due
from tenants.selectors import brand_list

logger = logging.getLogger(__name__)


@shared_task(name="community.auctions_close_due_all")
def auctions_close_due_all_task() -> int:
    """In every brand, in its schema, close the auctions that are due: each winner's order placed
    once however often it runs. A brand that fails is logged and the others go on. How many
    auctions were closed."""
    closed = 0
    for schema_name in brand_list().values_list("schema_name", flat=True):
        with schema_context(schema_name):
            try:
                closed += auctions_close_due()
            except Exception:
                logger.exception("the auctions of %s were not closed", schema_name)
    return closed
