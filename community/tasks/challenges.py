"""The challenges' beat task (every 5 minutes): the challenges completed, in every brand."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import schema_context

from community.services.challenges import challenges_complete
from tenants.selectors import brand_list

logger = logging.getLogger(__name__)


@shared_task(name="community.challenges_sweep_all")
def challenges_sweep_all_task() -> int:
    """In every brand, in its schema, pay the members who completed a challenge since the last
    sweep (only the events recorded since: cheap; each completion once however often it runs, even
    two sweeps at once). A brand that fails is logged and the others go on. How many completed."""
    completed = 0
    for schema_name in brand_list().values_list("schema_name", flat=True):
        with schema_context(schema_name):
            try:
                completed += challenges_complete()
            except Exception:
                logger.exception("the challenges sweep of %s did not run", schema_name)
    return completed
