"""Tasks every app shares: the outbox sweeper that beat runs (core.outbox); jobs' runs and sweep
(core.jobs)."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from .jobs import TIME_LIMIT, job_run, job_schemas_pending, jobs_sweep
from .outbox import outbox_schemas_due, outbox_sweep

logger = logging.getLogger(__name__)


@shared_task(name="core.outbox_sweep_all")
def outbox_sweep_all_task() -> int:
    """Queue again, in every brand's schema, the outbox rows whose send is due (beat, every
    `OUTBOX_SWEEP_INTERVAL` s), visiting only the schemas that hold some. Safe to run twice at
    once: each row is claimed before it is queued."""
    queued = 0
    brands = get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).order_by("pk")
    for schema_name in outbox_schemas_due(list(brands.values_list("schema_name", flat=True))):
        with schema_context(schema_name):
            sweep = outbox_sweep()
        queued += sweep.queued
        if sweep.broker_down:
            logger.warning("outbox sweep stopped in %s: broker down, the next sweep goes on", schema_name)
            break
    return queued


@shared_task(name="core.job_run", time_limit=TIME_LIMIT, acks_late=False)
def job_run_task(job_id: int) -> None:
    """Run a job of the brand that queued it (core.jobs). Acknowledged when taken: a worker that
    dies mid-run leaves it to the jobs sweep, which sees its lock gone."""
    job_run(job_id=job_id)


@shared_task(name="core.jobs_sweep_all")
def jobs_sweep_all_task() -> int:
    """Beat, every minute: in every brand holding queued or running jobs, queue again the jobs whose
    worker died or that no worker took (core.jobs.jobs_sweep)."""
    queued = 0
    brands = get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).order_by("pk")
    for schema_name in job_schemas_pending(list(brands.values_list("schema_name", flat=True))):
        with schema_context(schema_name):
            queued += jobs_sweep()
    return queued
