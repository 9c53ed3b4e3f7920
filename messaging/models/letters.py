"""Launch mailings: a batch of printed letters (README, "Messaging > Letters"), rendered by
`messaging.tasks_letters` into one print-ready PDF and a CSV manifest for the print house.

A batch's files hold activation codes in clear, so they are stored in the brand's private folder
(`messaging.letters.storage`), never under the served /media/ folder: they are downloaded through
the API or the backoffice only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import ActivationCode, Member, Segment
from messaging.letters.storage import letter_files_storage

from .messages import Message


class LetterBatch(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RENDERING = "rendering", _("Rendering")
        READY = "ready", _("Ready to print")
        POSTED = "posted", _("Posted")
        FAILED = "failed", _("Failed")

    name = models.CharField(max_length=120, blank=True)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="letter_batches"
    )
    template_code = models.SlugField(max_length=64, help_text=_("a message template of channel “post”"))
    issue_codes = models.BooleanField(default=True, help_text=_("one new activation code per member"))
    include_catalogue = models.BooleanField(
        default=False, help_text=_("the printed catalogue's pages after each letter")
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    letters_total = models.PositiveIntegerField(default=0)
    letters_rendered = models.PositiveIntegerField(default=0)
    letters_skipped = models.PositiveIntegerField(default=0, help_text=_("no address, opted out..."))
    pages = models.PositiveIntegerField(default=0)
    pdf = models.FileField(storage=letter_files_storage, blank=True)
    manifest = models.FileField(storage=letter_files_storage, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The outbox's columns (core.outbox): the sweeper queues the rendering again if it was lost.
    requeue_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("letter batch")
        verbose_name_plural = _("letter batches")
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["draft", "rendering", "ready", "posted", "failed"]),
                name="letter_batch_state",
            ),
            models.CheckConstraint(
                condition=Q(letters_rendered__lte=models.F("letters_total")), name="letter_batch_progress"
            ),
        ]
        indexes = [
            models.Index(
                fields=["requeue_at"], name="letter_batch_requeue", condition=Q(requeue_at__isnull=False)
            )
        ]

    def __str__(self) -> str:
        return self.name or f"Letter batch {self.pk}"


class Letter(models.Model):
    """One member's letter in a batch; also a `Message` of channel post, so the member's message
    log shows it. `chunk` is the part of the batch rendered together; `pages` and `chunk_page` are
    set when its chunk is rendered, `first_page` (in the batch's PDF) when the chunks are joined."""

    # No index of its own: letter_member_once (batch, member) and letter_batch_chunk lead with it.
    batch = models.ForeignKey(LetterBatch, on_delete=models.CASCADE, related_name="letters", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="letters")
    position = models.PositiveIntegerField(help_text=_("its order in the batch"))
    chunk = models.PositiveIntegerField()
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="letter"
    )
    activation_code = models.ForeignKey(
        ActivationCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="letters"
    )
    skip_reason = models.CharField(max_length=32, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    chunk_page = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("its first page in its chunk")
    )
    first_page = models.PositiveIntegerField(null=True, blank=True, help_text=_("its first page in the PDF"))
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "member"], name="letter_member_once"),
            models.UniqueConstraint(fields=["batch", "position"], name="letter_position_once"),
        ]
        indexes = [models.Index(fields=["batch", "chunk"], name="letter_batch_chunk")]

    def __str__(self) -> str:
        return f"letter {self.position} of batch {self.batch_id}"
