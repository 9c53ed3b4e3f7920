"""The member site's discussions (README "Community > Discussions"): `/community/discussions/`
(`?space=<slug>`: a club space's forum, `?kind=testimonial`), a thread's page with its replies and
the reply form, the forms to open a thread and to edit one's own texts. A thread the reader may
not see, like a space they may not enter, is a 404 as a missing one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from catalog.views import member_required, site_member
from clubs.selectors import space_get, space_may_enter
from community.models import Reply, Thread
from community.models.discussions import TEXT_MAX_LENGTH, THREAD_TITLE_MAX_LENGTH
from community.selectors.discussions import (
    replies_visible,
    thread_for,
    thread_may_write,
    thread_spaces,
    threads_visible,
)
from community.services.discussions import (
    EDIT_WINDOW,
    reply_edit,
    reply_post,
    thread_create,
    thread_edit,
)
from core.errors import DomainError, NotFound
from loyalty.models import Member
from loyalty.selectors.leaderboard import leaderboard_name

THREADS_PER_PAGE = 20
REPLIES_PER_PAGE = 50

# The services' refusals in the member's words (their own messages are the API's, in English).
REFUSALS = {
    "thread_locked": gettext_lazy("This discussion is closed to replies."),
    "space_closed": gettext_lazy("Only members of this club space write here."),
    "member_not_active": gettext_lazy("Your account cannot write here."),
    "edit_window_over": gettext_lazy("The time to edit this text is over."),
    "rejected": gettext_lazy("A rejected text cannot be edited."),
}


class ThreadForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=THREAD_TITLE_MAX_LENGTH)
    text = forms.CharField(
        label=gettext_lazy("Your message"), max_length=TEXT_MAX_LENGTH, widget=forms.Textarea
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=Thread.Kind.choices, initial=Thread.Kind.DISCUSSION
    )
    space = forms.ChoiceField(label=gettext_lazy("Where"), required=False)

    def __init__(self, *args: object, member: Member, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        spaces = thread_spaces(member=member)
        self.fields["space"].choices = [("", gettext("Every member"))] + [(s.slug, s.name) for s in spaces]
        self.spaces = {space.slug: space for space in spaces}
        if not spaces:
            del self.fields["space"]


class ThreadEditForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=THREAD_TITLE_MAX_LENGTH)
    text = forms.CharField(
        label=gettext_lazy("Your message"), max_length=TEXT_MAX_LENGTH, widget=forms.Textarea
    )


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Your reply"), max_length=TEXT_MAX_LENGTH, widget=forms.Textarea
    )


def _error_to_form(form: forms.Form, error: DomainError) -> None:
    """A service's refusal on the form: on its field when the form has it."""
    message = str(REFUSALS.get(getattr(error, "code", ""), error.message))
    field = error.field if error.field in form.fields else None
    form.add_error(field, message)


def _name(member: Member) -> str:
    """The author as other members see them (never their e-mail or full last name)."""
    return leaderboard_name(member=member) or gettext("A member")


def _may_edit(obj: Thread | Reply, member: Member | None) -> bool:
    return (
        member is not None
        and obj.member_id == member.pk
        and obj.state != "rejected"
        and timezone.now() - obj.created_at <= EDIT_WINDOW
    )


def discussion_list(request: HttpRequest) -> HttpResponse:
    member = site_member(request)
    space = None
    slug = request.GET.get("space", "")
    if slug:
        space = space_get(slug=slug)
        if space is None or not space_may_enter(space=space, member=member):
            raise Http404("no such club space")
    kind = request.GET.get("kind", "")
    if kind not in Thread.Kind.values:
        kind = ""
    threads = threads_visible(member=member, space=space, kind=kind)
    page = Paginator(threads, THREADS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "community/site/discussions/list.html",
        {
            "page": page,
            "items": [(thread, _name(thread.member)) for thread in page],
            "space": space,
            "kind": kind,
            "kinds": Thread.Kind.choices,
            "spaces": thread_spaces(member=member),
            "member": member,
            "may_write": thread_may_write(space=space, member=member),
            "login_url": redirect_to_login(request.get_full_path()).url,
        },
    )


@member_required
def discussion_new(request: HttpRequest) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    initial = {"space": request.GET.get("space", ""), "kind": request.GET.get("kind", Thread.Kind.DISCUSSION)}
    form = ThreadForm(request.POST or None, member=member, initial=initial)
    if request.method == "POST" and form.is_valid():
        space = form.spaces.get(form.cleaned_data.get("space") or "")
        try:
            thread = thread_create(
                member=member,
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                kind=form.cleaned_data["kind"],
                space_id=space.pk if space else None,
            )
        except DomainError as error:
            _error_to_form(form, error)
        else:
            _saved_message(request, thread)
            return redirect("community-discussion", thread_id=thread.pk)
    return render(request, "community/site/discussions/form.html", {"form": form, "editing": None})


def _saved_message(request: HttpRequest, obj: Thread | Reply) -> None:
    if obj.state == "published":
        messages.success(request, gettext("Published."))
    else:
        messages.info(request, gettext("Your text waits for a moderator before it is published."))


def _thread_or_404(thread_id: int, member: Member | None) -> Thread:
    thread = thread_for(thread_id=thread_id, member=member)
    if thread is None:
        raise Http404("no such discussion")
    return thread


def discussion_detail(request: HttpRequest, thread_id: int) -> HttpResponse:
    member = site_member(request)
    thread = _thread_or_404(thread_id, member)
    return _detail(request, thread, member, ReplyForm())


def _detail(request: HttpRequest, thread: Thread, member: Member | None, form: ReplyForm) -> HttpResponse:
    page = Paginator(replies_visible(thread=thread, member=member), REPLIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    replies = [(reply, _name(reply.member), _may_edit(reply, member)) for reply in page]
    return render(
        request,
        "community/site/discussions/detail.html",
        {
            "thread": thread,
            "page": page,
            "replies": replies,
            "author": _name(thread.member),
            "member": member,
            "form": form,
            "may_reply": thread.state == "published"
            and not thread.is_locked
            and thread_may_write(thread=thread, member=member),
            "may_edit": _may_edit(thread, member),
            "login_url": redirect_to_login(request.get_full_path()).url,
        },
        status=400 if form.errors else 200,
    )


@require_POST
@member_required(back_to="community-discussion")
def discussion_reply(request: HttpRequest, thread_id: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    thread = _thread_or_404(thread_id, member)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            reply = reply_post(thread_id=thread.pk, member=member, text=form.cleaned_data["text"])
        except NotFound as error:
            raise Http404("no such discussion") from error
        except DomainError as error:
            _error_to_form(form, error)
        else:
            _saved_message(request, reply)
            return redirect("community-discussion", thread_id=thread.pk)
    return _detail(request, thread, member, form)


@member_required(back_to="community-discussion-edit")
def discussion_edit(request: HttpRequest, thread_id: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    thread = _thread_or_404(thread_id, member)
    if thread.member_id != member.pk:
        raise Http404("no such discussion of yours")
    form = ThreadEditForm(request.POST or None, initial={"title": thread.title, "text": thread.text})
    if request.method == "POST" and form.is_valid():
        try:
            thread = thread_edit(
                thread_id=thread.pk,
                member=member,
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
            )
        except DomainError as error:
            _error_to_form(form, error)
        else:
            _saved_message(request, thread)
            return redirect("community-discussion", thread_id=thread.pk)
    return render(request, "community/site/discussions/form.html", {"form": form, "editing": thread})


@member_required
def reply_edit_view(request: HttpRequest, reply_id: int) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    reply = Reply.objects.filter(pk=reply_id, member=member).first()
    if reply is None or thread_for(thread_id=reply.thread_id, member=member) is None:
        raise Http404("no such reply of yours")
    form = ReplyForm(request.POST or None, initial={"text": reply.text})
    if request.method == "POST" and form.is_valid():
        try:
            reply = reply_edit(reply_id=reply.pk, member=member, text=form.cleaned_data["text"])
        except DomainError as error:
            _error_to_form(form, error)
        else:
            _saved_message(request, reply)
            return redirect("community-discussion", thread_id=reply.thread_id)
    return render(
        request,
        "community/site/discussions/form.html",
        {"form": form, "editing": reply.thread, "reply": reply},
    )


urlpatterns = [
    path("community/discussions/", discussion_list, name="community-discussions"),
    path("community/discussions/new/", discussion_new, name="community-discussion-new"),
    path("community/discussions/<int:thread_id>/", discussion_detail, name="community-discussion"),
    path("community/discussions/<int:thread_id>/reply/", discussion_reply, name="community-discussion-reply"),
    path("community/discussions/<int:thread_id>/edit/", discussion_edit, name="community-discussion-edit"),
    path("community/discussions/replies/<int:reply_id>/edit/", reply_edit_view, name="community-reply-edit"),
]
