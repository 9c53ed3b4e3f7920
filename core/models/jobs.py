"""Long work (imports, exports, campaigns, letter batches) as a job row (core.jobs): its state and
progress survive a web restart, and the backoffice shows them live."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    kind = models.CharField(max_length=40)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Progress: `done` of `total` items (total unknown until counted: null).
    total = models.PositiveIntegerField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="outcomes by name, such as created/updated")
    errors = models.JSONField(default=list, blank=True, help_text="per-item errors: row, field, message")
    error_count = models.PositiveIntegerField(default=0)
    # The result file (an export, an import's report), in the brand's private storage.
    result_path = models.CharField(max_length=255, blank=True)
    result_name = models.CharField(max_length=120, blank=True)
    message = models.TextField(blank=True, help_text="why it failed, or a summary when done")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"], name="job_kind_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["queued", "running", "done", "failed"]), name="job_state_known"
            ),
            models.CheckConstraint(
                condition=models.Q(total__isnull=True) | models.Q(done__lte=models.F("total")),
                name="job_done_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"
