"""The member site's questions and answers (README "Community > Q&A"): the published questions
(filtered by product, service or place) with the ask form (members, and visitors with a name),
a question's page with its answers, the answer form and "best answer" for the asker. Only
published texts are shown, except the reader's own (with their state). H5's live help points
visitors here by the URL name `community-questions`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views.decorators.http import require_POST

from catalog.views import member_required, site_member
from community.models import ModerationState, RejectionReason
from community.models.qa import QUESTION_TITLE_MAX_LENGTH, TEXT_MAX_LENGTH
from community.selectors.qa import (
    member_questions_unpublished,
    question_answers,
    question_author_name,
    question_for,
    question_subjects,
    questions_published,
)
from community.services.qa import answer_post, best_answer_mark, question_ask
from core.errors import DomainError, InvalidInput, NotFound
from core.lockout import client_ip
from loyalty.models import Member

QUESTIONS_PER_PAGE = 20
REFUSALS = {
    "member_not_active": gettext_lazy("Your account cannot write here."),
    "too_many_questions": gettext_lazy("You asked many questions in a short time: try again in an hour."),
    "not_the_asker": gettext_lazy("Only the person who asked marks the best answer."),
    "own_answer": gettext_lazy("Your own answer cannot be the best one."),
}


def _refusal(error: DomainError) -> str:
    return str(REFUSALS.get(error.code, error.message))


class AskForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Your question"), max_length=QUESTION_TITLE_MAX_LENGTH)
    text = forms.CharField(
        label=gettext_lazy("Details (optional)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=TEXT_MAX_LENGTH,
        required=False,
    )
    subject = forms.ModelChoiceField(
        queryset=question_subjects(),
        label=gettext_lazy("About"),
        required=False,
        empty_label=gettext_lazy("—"),
    )
    visitor_name = forms.CharField(label=gettext_lazy("Your name"), max_length=80)
    visitor_email = forms.EmailField(
        label=gettext_lazy("Your e-mail (optional)"),
        required=False,
        help_text=gettext_lazy("never shown"),
    )

    def __init__(self, *args, member: Member | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if member is not None:
            del self.fields["visitor_name"], self.fields["visitor_email"]
        if not self.fields["subject"].queryset.exists():
            del self.fields["subject"]


class AnswerForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Your answer"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=TEXT_MAX_LENGTH,
    )


def _errors_to_form(form: forms.Form, error: InvalidInput) -> None:
    for field, problems in error.errors.items():
        form.add_error(field if field in form.fields else None, problems)


def _reason(row: object) -> str:
    code = getattr(row, "rejection_reason", "")
    return str(dict(RejectionReason.choices).get(code, code))


def question_list(request: HttpRequest) -> HttpResponse:
    member = site_member(request)
    subjects = question_subjects()
    subject = (
        subjects.filter(pk=request.GET.get("subject")).first()
        if request.GET.get("subject", "").isdigit()
        else None
    )
    form = AskForm(request.POST or None, member=member, initial={"subject": subject})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                question = question_ask(
                    member=member,
                    visitor_name=data.get("visitor_name", ""),
                    visitor_email=data.get("visitor_email", ""),
                    title=data["title"],
                    text=data["text"],
                    subject_id=data["subject"].pk if data.get("subject") else None,
                    language=get_language() or "",
                    ip=client_ip(request),
                )
            except InvalidInput as error:
                _errors_to_form(form, error)
            except DomainError as error:
                messages.error(request, _refusal(error))
            else:
                if question.state == ModerationState.PUBLISHED:
                    messages.success(request, gettext("Your question is published: members will answer it."))
                else:
                    messages.info(
                        request, gettext("Your question waits for our moderators before it is published.")
                    )
                if member is not None or question.state == ModerationState.PUBLISHED:
                    return redirect("community-question", question_id=question.pk)
                return redirect("community-questions")
    page = Paginator(
        questions_published(subject_id=subject.pk if subject else None), QUESTIONS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "community/site/qa/list.html",
        {
            "page": page,
            "form": form,
            "member": member,
            "subjects": subjects,
            "subject": subject,
            "mine": list(member_questions_unpublished(member=member)) if member else [],
        },
        status=status,
    )


def _question_page(
    request: HttpRequest, question_id: int, form: AnswerForm | None = None, status: int = 200
) -> HttpResponse:
    member = site_member(request)
    question = question_for(question_id=question_id, member=member)
    if question is None:
        raise Http404("no such question")
    answers = question_answers(question=question, member=member)
    for answer in answers:
        answer.reason_label = _reason(answer)  # type: ignore[attr-defined]
    is_asker = member is not None and question.member_id == member.pk
    return render(
        request,
        "community/site/qa/detail.html",
        {
            "question": question,
            "author_name": question_author_name(question=question),
            "question_reason": _reason(question),
            "answers": answers,
            "member": member,
            "is_asker": is_asker,
            "form": form
            or (AnswerForm() if member and question.state == ModerationState.PUBLISHED else None),
        },
        status=status,
    )


def question_detail(request: HttpRequest, question_id: int) -> HttpResponse:
    return _question_page(request, question_id)


@require_POST
@member_required(back_to="community-question")
def question_answer(request: HttpRequest, question_id: int) -> HttpResponse:
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            answer = answer_post(
                question_id=question_id, member=request.member, text=form.cleaned_data["text"]
            )
        except NotFound:
            raise Http404("no such question") from None
        except InvalidInput as error:
            _errors_to_form(form, error)
        except DomainError as error:
            messages.error(request, _refusal(error))
            return redirect("community-question", question_id=question_id)
        else:
            if answer.state == ModerationState.PUBLISHED:
                messages.success(request, gettext("Thank you: your answer is published."))
            else:
                messages.info(
                    request, gettext("Your answer waits for our moderators before it is published.")
                )
            return redirect("community-question", question_id=question_id)
    return _question_page(request, question_id, form=form, status=400)


@require_POST
@member_required(back_to="community-question")
def question_best(request: HttpRequest, question_id: int, answer_id: int) -> HttpResponse:
    if question_for(question_id=question_id, member=request.member) is None:
        raise Http404("no such question")
    try:
        best_answer_mark(question_id=question_id, answer_id=answer_id, by_member=request.member)
    except DomainError as error:
        messages.error(request, _refusal(error))
    else:
        messages.success(request, gettext("Marked as the best answer: thank you."))
    return redirect("community-question", question_id=question_id)


urlpatterns = [
    path("community/questions/", question_list, name="community-questions"),
    path("community/questions/<int:question_id>/", question_detail, name="community-question"),
    path("community/questions/<int:question_id>/answer/", question_answer, name="community-question-answer"),
    path(
        "community/questions/<int:question_id>/best/<int:answer_id>/",
        question_best,
        name="community-question-best",
    ),
]
