"""Campaign runs and letter batches as jobs (core.jobs), so the backoffice's jobs page shows them with
imports and exports. Their own tasks run them; each keeps a `Job` row (kinds registered without a
run function, which the jobs sweep leaves alone) up to date once per chunk — 2,000 members of a
campaign, 250 letters — never once per message: a campaign's sends (the hot path) write nothing
more. What moves after the chunks, the messages leaving, is counted live from the messages' states
when the page asks (`campaign_run_details`, on the index of `message_one_per_campaign_run`)."""

from __future__ import annotations

from django.db.models import Count, F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.jobs import JobDetails, job_kind_register
from core.models import Job
from messaging.letters.selectors import letter_batch_skips
from messaging.models import CampaignRun, LetterBatch, Message

CAMPAIGN_RUN = "messaging.campaign_run"
LETTER_BATCH = "messaging.letter_batch"
# Messages that still move on their own (the page keeps polling while some are there).
_PENDING = (Message.State.QUEUED, Message.State.SENDING)


def _campaign_jobs(run_ids: list[int]) -> QuerySet[Job]:
    return Job.objects.filter(kind=CAMPAIGN_RUN, params__campaign_run__in=run_ids)


def campaign_run_job_open(*, run: CampaignRun) -> Job:
    """The job of a run that starts (in its transaction): its members to queue as its total."""
    job = Job.objects.create(
        kind=CAMPAIGN_RUN,
        state=Job.State.RUNNING,
        params={"campaign_run": run.pk, "campaign": run.campaign_id},
        total=run.recipients,
        started_at=timezone.now(),
        message=str(run.campaign),
    )
    if run.state == CampaignRun.State.FAILED:
        campaign_run_job_end(run=run)
    return job


def campaign_run_job_advance(*, run: CampaignRun, members: int) -> None:
    """A chunk of `members` queued (in the chunk's transaction): one UPDATE per chunk. The segment
    may have grown since the count: the total follows."""
    _campaign_jobs([run.pk]).update(done=F("done") + members)
    _campaign_jobs([run.pk]).filter(total__lt=F("done")).update(total=F("done"))


def campaign_run_job_paused(*, run: CampaignRun, paused: bool) -> None:
    """A run paused (its job says so while it waits) or resumed (its job names its campaign again)."""
    message = _("Paused: %(campaign)s") % {"campaign": run.campaign} if paused else str(run.campaign)
    _campaign_jobs([run.pk]).update(message=message)


def campaign_run_job_end(*, run: CampaignRun) -> None:
    """The run has queued everyone (done), failed, or was cancelled: its messages by state as counts."""
    campaign_run_jobs_end(run_ids=[run.pk], state=run.state, error=run.error)


def campaign_run_jobs_end(*, run_ids: list[int], state: str, error: str = "") -> None:
    if not run_ids:
        return
    failed = state == CampaignRun.State.FAILED
    for job in _campaign_jobs(run_ids).exclude(state__in=(Job.State.DONE, Job.State.FAILED)):
        job.counts = _messages_by_state(job.params["campaign_run"])
        job.state = Job.State.FAILED if failed else Job.State.DONE
        job.finished_at = timezone.now()
        if failed:
            job.message = error
        elif state == CampaignRun.State.CANCELLED:
            job.message = _("Cancelled: the messages not sent yet were not sent.")
        job.save(update_fields=["counts", "state", "finished_at", "message"])


def _messages_by_state(run_id: int) -> dict[str, int]:
    rows = Message.objects.filter(campaign_run_id=run_id).values("state").annotate(n=Count("id"))
    return {row["state"]: row["n"] for row in rows.order_by("state")}


def campaign_run_details(job: Job) -> JobDetails:
    counts = _messages_by_state(job.params["campaign_run"])
    live = any(counts.get(state) for state in _PENDING)
    return JobDetails(counts=counts, live=live, labels={k: str(v) for k, v in Message.State.choices})


def campaign_run_link(job: Job) -> str:
    return reverse("admin:messaging_campaign_change", args=[job.params["campaign"]])


def _letter_jobs(batch_id: int) -> QuerySet[Job]:
    return Job.objects.filter(kind=LETTER_BATCH, params__letter_batch=batch_id)


def letter_batch_job_open(*, batch: LetterBatch) -> Job:
    """The job of a batch whose rendering starts (in its transaction)."""
    return Job.objects.create(
        kind=LETTER_BATCH,
        state=Job.State.RUNNING,
        params={"letter_batch": batch.pk},
        created_by_id=batch.created_by_id,
        total=batch.letters_total,
        started_at=timezone.now(),
        message=str(batch),
    )


def letter_batch_job_advance(*, batch_id: int) -> None:
    """A chunk rendered (in its transaction, after the batch's counters moved, whose row lock
    orders the chunks): the batch's counters copied, one UPDATE per chunk."""
    rendered, skipped = LetterBatch.objects.filter(pk=batch_id).values_list(
        "letters_rendered", "letters_skipped"
    )[0]
    _letter_jobs(batch_id).update(done=rendered + skipped, counts={"printed": rendered, "skipped": skipped})


def letter_batch_job_end(*, batch: LetterBatch) -> None:
    """The batch is ready (its PDF the job's result) or failed (its error the job's message)."""
    now = timezone.now()
    if batch.state == LetterBatch.State.READY:
        _letter_jobs(batch.pk).update(
            state=Job.State.DONE,
            finished_at=now,
            result_path=batch.pdf.name,
            result_name=batch.pdf.name.rsplit("/", 1)[-1],
            done=batch.letters_rendered + batch.letters_skipped,
        )
    else:
        _letter_jobs(batch.pk).update(state=Job.State.FAILED, finished_at=now, message=batch.error)


def letter_batch_details(job: Job) -> JobDetails:
    batch = LetterBatch.objects.filter(pk=job.params["letter_batch"]).first()
    if batch is None:
        return JobDetails(counts={})
    return JobDetails(counts=letter_batch_skips(batch=batch))


def letter_batch_link(job: Job) -> str:
    return reverse("admin:messaging_letterbatch_change", args=[job.params["letter_batch"]])


job_kind_register(
    name=CAMPAIGN_RUN,
    permission="messaging.view_campaign",
    label=gettext_lazy("Campaign run"),
    details=campaign_run_details,
    link=campaign_run_link,
)
job_kind_register(
    name=LETTER_BATCH,
    permission="messaging.view_letterbatch",
    label=gettext_lazy("Letter batch"),
    details=letter_batch_details,
    link=letter_batch_link,
)
