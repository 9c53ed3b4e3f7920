"""Campaigns' tasks (`messaging.services.campaigns`): a run queuing its members, and beat's look
for the runs due in every brand. Imported by `MessagingConfig.ready`."""

from __future__ import annotations

from celery import shared_task
from django.db import connection
from django_tenants.utils import schema_context

from core.outbox import task_send
from tenants.selectors import brand_list

from .services.campaigns import (
    RUN_SLICE_SECONDS,
    campaign_run_process,
    campaign_runs_stalled,
    campaigns_start_due,
)


@shared_task(name="messaging.campaign_run")
def campaign_run_task(run_id: int) -> bool:
    """Queue a run's members for `RUN_SLICE_SECONDS`, then queue this task again if some are
    left (a lost copy is queued again by beat: `campaign_runs_stalled`)."""
    more = campaign_run_process(run_id=run_id, seconds=RUN_SLICE_SECONDS)
    if more:
        task_send(task=campaign_run_task, schema_name=connection.schema_name, args=(run_id,))
    return more


@shared_task(name="messaging.campaigns_due_all")
def campaigns_due_all_task() -> int:
    """In every brand, start the campaigns whose slot has come and take up the runs a crash
    stopped (beat, every minute). How many runs were started or taken up."""
    count = 0
    for schema_name in brand_list().values_list("schema_name", flat=True):
        with schema_context(schema_name):
            count += campaigns_start_due()
            for run_id in campaign_runs_stalled():
                task_send(task=campaign_run_task, schema_name=schema_name, args=(run_id,))
                count += 1
    return count
