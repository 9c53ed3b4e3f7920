"""The backoffice's reviews lists and forms (README "Community > Reviews"): the reviewed items
(products, services, points of sale: written through `subject_save`), the reviews (filters and
search; staff write the brand's public reply, never the member's words nor rating) and support's
follow-ups of low ratings (state, who has it, the outcome)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from community.models import FollowUp, ModerationState, Review, Subject
from community.services.reviews import (
    SUBJECT_FIELDS,
    follow_up_update,
    follow_up_validate,
    review_reply,
    subject_save,
    subject_validate,
)
from core.admin_base import ModelAdmin
from core.errors import InvalidInput
from loyalty.admin.programme import ServiceForm

PUBLISHED = Q(reviews__state=ModerationState.PUBLISHED)


class SubjectForm(ServiceForm):
    service_validate = staticmethod(subject_validate)
    image_url = forms.URLField(label=gettext_lazy("image"), required=False, assume_scheme="https")

    class Meta:
        model = Subject
        fields = SUBJECT_FIELDS

    def _instance_kwarg(self) -> dict:
        return {"subject": self.instance}


@admin.register(Subject)
class SubjectAdmin(ModelAdmin):
    form = SubjectForm
    list_display = ["name", "kind", "reference", "published_reviews", "average", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "reference"]
    fields = list(SUBJECT_FIELDS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subject]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                published_count=Count("reviews", filter=PUBLISHED),
                average_rating=Avg("reviews__rating", filter=PUBLISHED),
            )
        )

    @admin.display(description=gettext_lazy("published reviews"), ordering="published_count")
    def published_reviews(self, subject: Subject) -> int:
        return subject.published_count  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("average rating"), ordering="average_rating")
    def average(self, subject: Subject) -> str:
        value = subject.average_rating  # type: ignore[attr-defined]
        return "" if value is None else f"{value:.1f}"

    def save_model(self, request: HttpRequest, obj: Subject, form: SubjectForm, change: bool) -> None:
        saved = subject_save(data=form._form_data(), subject_id=obj.pk if change else None)
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Subject | None = None) -> bool:
        """An item with reviews is taken off the list (not listed), never deleted: its reviews
        and averages are the members' words."""
        if obj is not None and obj.reviews.exists():
            return False
        return super().has_delete_permission(request, obj)


class ReviewForm(forms.ModelForm):
    """Only the brand's reply is staff's to write; `review_reply` checks and tells the author."""

    class Meta:
        model = Review
        fields = ["reply"]

    def clean_reply(self) -> str:
        reply = (self.cleaned_data.get("reply") or "").strip()
        if reply and self.instance.state == ModerationState.REJECTED:
            raise forms.ValidationError(gettext_lazy("A rejected review takes no reply."))
        return reply


class CertifiedFilter(admin.SimpleListFilter):
    title = gettext_lazy("certified")
    parameter_name = "certified"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", gettext_lazy("Certified purchase")), ("no", gettext_lazy("Not certified"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Review]) -> QuerySet[Review]:
        if self.value() in ("yes", "no"):
            return queryset.filter(certified_event__isnull=self.value() == "no")
        return queryset


@admin.register(Review)
class ReviewAdmin(ModelAdmin):
    form = ReviewForm
    list_display = ["subject", "rating", "member", "state", "certified_mark", "report_count", "created_at"]
    list_filter = ["state", "rating", CertifiedFilter, "subject__kind", "subject"]
    list_select_related = ["subject", "member"]
    search_fields = ["text", "title", "subject__name", "subject__reference", "member__external_id"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "subject",
        "member",
        "rating",
        "title",
        "text",
        "experienced_on",
        "language",
        "certified_mark",
        "state",
        "held_because",
        "rejection_reason",
        "rejection_note",
        "published_at",
        "created_at",
        "edited_at",
        "report_count",
        "replied_at",
        "replied_by",
    ]
    fieldsets = [
        (
            None,
            {"fields": ["subject", "member", "rating", "title", "text", "experienced_on", "language"]},
        ),
        (
            gettext_lazy("Moderation"),
            {
                "fields": [
                    "state",
                    "certified_mark",
                    "held_because",
                    "rejection_reason",
                    "rejection_note",
                    "report_count",
                    "published_at",
                    "created_at",
                    "edited_at",
                ]
            },
        ),
        (
            gettext_lazy("The brand's public reply"),
            {"fields": ["reply", "replied_at", "replied_by"]},
        ),
    ]

    @admin.display(description=gettext_lazy("certified"), boolean=True, ordering="certified_event")
    def certified_mark(self, review: Review) -> bool:
        return review.certified

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Review | None = None) -> bool:
        """Reviews are kept, positive or negative (ISO 20488): rejected, never deleted."""
        return False

    def save_model(self, request: HttpRequest, obj: Review, form: ReviewForm, change: bool) -> None:
        review_reply(review_id=obj.pk, text=form.cleaned_data["reply"], user=request.user)


class FollowUpForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = ["state", "assigned_to", "outcome"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            follow_up_validate(
                follow_up=self.instance, state=cleaned.get("state", ""), outcome=cleaned.get("outcome", "")
            )
        except InvalidInput as error:
            for field, texts in error.errors.items():
                self.add_error(field if field in self.fields else None, texts)
        return cleaned


@admin.register(FollowUp)
class FollowUpAdmin(ModelAdmin):
    """Support's queue: the open ones first, oldest first."""

    form = FollowUpForm
    list_display = ["review_subject", "review_rating", "review_member", "state", "assigned_to", "created_at"]
    list_filter = ["state", "assigned_to"]
    list_select_related = ["review__subject", "review__member", "assigned_to"]
    search_fields = ["review__text", "review__subject__name", "review__member__external_id", "outcome"]
    readonly_fields = [
        "review_subject",
        "review_link",
        "review_rating",
        "review_text",
        "review_member",
        "created_at",
        "closed_at",
    ]
    fields = [
        "review_subject",
        "review_link",
        "review_rating",
        "review_text",
        "review_member",
        "state",
        "assigned_to",
        "outcome",
        "created_at",
        "closed_at",
    ]

    @admin.display(description=gettext_lazy("reviewed item"), ordering="review__subject__name")
    def review_subject(self, follow_up: FollowUp) -> str:
        return follow_up.review.subject.name

    @admin.display(description=gettext_lazy("review"))
    def review_link(self, follow_up: FollowUp) -> str:
        url = reverse("admin:community_review_change", args=[follow_up.review_id])
        return format_html('<a href="{}" class="text-primary-600">{}</a>', url, gettext("Open the review"))

    @admin.display(description=gettext_lazy("rating"), ordering="review__rating")
    def review_rating(self, follow_up: FollowUp) -> int:
        return follow_up.review.rating

    @admin.display(description=gettext_lazy("the member's words"))
    def review_text(self, follow_up: FollowUp) -> str:
        return follow_up.review.text

    @admin.display(description=gettext_lazy("member"), ordering="review__member__external_id")
    def review_member(self, follow_up: FollowUp) -> str:
        return str(follow_up.review.member)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "assigned_to":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: FollowUp | None = None) -> bool:
        """A follow-up is closed with its outcome, never deleted (the review's history)."""
        return False

    def save_model(self, request: HttpRequest, obj: FollowUp, form: FollowUpForm, change: bool) -> None:
        follow_up_update(
            follow_up_id=obj.pk,
            state=form.cleaned_data["state"],
            outcome=form.cleaned_data["outcome"],
            assigned_to=form.cleaned_data["assigned_to"],
            user=request.user,
        )
