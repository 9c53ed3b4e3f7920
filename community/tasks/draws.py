"""The draws' beat task: every brand's draws whose time has come are drawn (`community.services.draws`)."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import schema_context

from community.services.draws import draws_due_run
from tenants.selectors import brand_list

logger = logging.getLogger(__name__)


@shared_task(name="community.draws_due_all")
def draws_due_all_task() -> int:
    """In every brand, in its schema, draw the scheduled draws that are due; each once however often
    it runs. A brand that fails is logged and the others go on. How many draws were drawn."""
    drawn = 0
    for schema_name in brand_list().values_list("schema_name", flat=True):
        with schema_context(schema_name):
            try:
                drawn += draws_due_run()
            except Exception:
                logger.exception("the due draws of %s did not run", schema_name)
    return drawn
