"""The reviews' beat task: the invitations to review what members bought, in every brand
(`community.services.reviews.review_invitations_send`)."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import schema_context

from community.services.reviews import review_invitations_send
from tenants.selectors import brand_list

logger = logging.getLogger(__name__)


@shared_task(name="community.review_invitations_all")
def review_invitations_all_task() -> int:
    """In every brand, in its schema, invite members to review their purchases of the last days;
    each purchase and subject once however often it runs. A brand that fails is logged and the
    others go on. How many invitations were written."""
    written = 0
    for schema_name in brand_list().values_list("schema_name", flat=True):
        with schema_context(schema_name):
            try:
                written += review_invitations_send()
            except Exception:
                logger.exception("the review invitations of %s did not run", schema_name)
    return written
