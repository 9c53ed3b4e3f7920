"""Live help's beat task: conversations idle for long are closed, in every brand."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import schema_context

from community.services.live import conversations_idle_close
from tenants.selectors import brand_list

logger = logging.getLogger(__name__)


@shared_task(name="community.live_sweep_all")
def live_sweep_all_task() -> int:
    """In every brand, in its schema, close the conversations with no message for
    `community.services.live.IDLE_AFTER`; a brand that fails is logged and the others go on. How
    many were closed."""
    closed = 0
    for schema_name in brand_list().values_list("schema_name", flat=True):
        with schema_context(schema_name):
            try:
                closed += conversations_idle_close()
            except Exception:
                logger.exception("the live conversations of %s were not swept", schema_name)
    return closed
