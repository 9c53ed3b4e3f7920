"""Messaging's kinds of jobs (found by `core.jobs.job_kinds`): campaign runs and letter batches,
kept up to date by their own tasks (`messaging.services.jobs`)."""

from messaging.services import jobs  # noqa: F401  (registers the kinds)
