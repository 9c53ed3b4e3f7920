"""The backoffice's questions (README "Community > Q&A"): each question with its answers (read-only:
members' texts are moderated in the moderation queue, `community-bo:moderation`); staff may mark
the best answer, through `best_answer_mark` (its author earns once)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from community.models import Answer, ModerationState, Question
from community.services.qa import best_answer_mark
from core.admin_base import ModelAdmin, TabularInline
from core.errors import DomainError


class AnswerInline(TabularInline):
    model = Answer
    fk_name = "question"
    fields = ["member", "text", "state", "created_at", "event"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Answer]:
        return super().get_queryset(request).select_related("member", "event")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class QuestionForm(forms.ModelForm):
    """Only the best answer is staff's to choose: among the question's published answers, not the
    asker's own."""

    class Meta:
        model = Question
        fields = ["best_answer"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        question = self.instance
        field = self.fields["best_answer"]
        rows = Answer.objects.filter(question_id=question.pk, state=ModerationState.PUBLISHED)
        if question.member_id is not None:
            rows = rows.exclude(member_id=question.member_id)
        field.queryset = rows.select_related("member")
        field.label_from_instance = lambda answer: f"#{answer.pk} {answer.member}: {answer.text[:80]}"
        field.required = False

    def clean_best_answer(self) -> Answer | None:
        chosen = self.cleaned_data.get("best_answer")
        if chosen is None and self.instance.best_answer_id is not None:
            raise forms.ValidationError(
                gettext_lazy("A best answer can be moved to another one, not removed.")
            )
        return chosen


@admin.register(Question)
class QuestionAdmin(ModelAdmin):
    form = QuestionForm
    inlines = [AnswerInline]
    list_display = ["title", "asker", "subject", "state", "answer_count", "solved", "last_activity_at"]
    list_filter = ["state", "subject__kind"]
    search_fields = ["title", "text", "visitor_name", "member__external_id"]
    list_select_related = ["member", "subject"]
    readonly_fields = [
        "title",
        "text",
        "member",
        "visitor_name",
        "visitor_email",
        "subject",
        "state",
        "language",
        "rejection_reason",
        "created_at",
        "last_activity_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "text", "subject", "state", "language", "rejection_reason"]}),
        (gettext_lazy("Asked by"), {"fields": ["member", "visitor_name", "visitor_email", "created_at"]}),
        (gettext_lazy("Best answer"), {"fields": ["best_answer", "last_activity_at"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members and visitors ask on the site

    def has_delete_permission(self, request: HttpRequest, obj: Question | None = None) -> bool:
        """Rejected in the moderation queue, not deleted: a best answer earned on it."""
        if obj is not None and obj.best_answer_id is not None:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=gettext_lazy("asked by"))
    def asker(self, question: Question) -> str:
        return str(question.member) if question.member_id else question.visitor_name

    @admin.display(description=gettext_lazy("solved"), boolean=True)
    def solved(self, question: Question) -> bool:
        return question.best_answer_id is not None

    def save_model(self, request: HttpRequest, obj: Question, form: QuestionForm, change: bool) -> None:
        chosen = form.cleaned_data.get("best_answer")
        if chosen is None or Question.objects.filter(pk=obj.pk, best_answer=chosen).exists():
            return
        try:
            best_answer_mark(question_id=obj.pk, answer_id=chosen.pk, by_user=request.user)
        except DomainError as error:
            self.message_user(request, error.message, level="error")
