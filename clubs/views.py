"""The member site's club spaces (README.md, "Club spaces"): `/club/` lists the spaces (those the
member may enter, then the others' teasers), `/club/<slug>/` shows a space's pages, offers, gifts
and upcoming events to those who meet its condition and only its teaser and how to get in to
anyone else, `/club/<slug>/code/` takes a confidential code. A page or an offer of a space the
visitor may not enter is a 404, whatever its URL: nothing of its content, not even whether it
exists."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from catalog.selectors import gifts_visible
from catalog.views import member_required, site_member
from clubs.models import Space, SpaceCodeAttempt
from clubs.selectors import (
    space_get,
    space_may_enter,
    space_offers,
    space_pages,
    spaces_for,
    vip_phone_line,
)
from clubs.services import space_code_attempt
from core.errors import InvalidInput, Refused
from core.lockout import client_ip
from gatherings.selectors import gatherings_upcoming_for
from loyalty.models import Member
from tenants.selectors import brand_timezone

# Refusals that say "wait": answered 429, as a locked activation is.
LOCKS = {SpaceCodeAttempt.Outcome.MEMBER_LOCKED, SpaceCodeAttempt.Outcome.IP_LOCKED}


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Your code"),
        max_length=40,
        help_text=_("As it was given to you, such as K7QM-2XPD-9R (upper or lower case)."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    with timezone.override(brand_timezone()):
        return render(request, f"clubs/site/{template}", context, status=status)


def _space_or_404(slug: str) -> Space:
    space = space_get(slug=slug)
    if space is None:
        raise Http404
    return space


def _member_space_or_404(request: HttpRequest, slug: str) -> tuple[Space, Member]:
    """The space, if the visitor is a member who may enter it; a 404 for anyone else."""
    space = _space_or_404(slug)
    member = site_member(request)
    if member is None or not space_may_enter(space=space, member=member):
        raise Http404
    return space, member


def club_index(request: HttpRequest) -> HttpResponse:
    member = site_member(request)
    context = {"spaces": spaces_for(member=member), "member": member, "phone": vip_phone_line(member=member)}
    return _page(request, "index.html", context)


def club_space(request: HttpRequest, slug: str) -> HttpResponse:
    space = _space_or_404(slug)
    member = site_member(request)
    context = {"space": space, "member": member, "may_enter": space_may_enter(space=space, member=member)}
    if context["may_enter"]:
        context.update(
            pages=list(space_pages(space=space)),
            offers=list(space_offers(space=space)),
            gifts=list(gifts_visible().filter(space=space)),
            gatherings=gatherings_upcoming_for(member=member, space=space),
            phone=vip_phone_line(member=member),
        )
    return _page(request, "space.html", context)


def club_page(request: HttpRequest, slug: str, page_slug: str) -> HttpResponse:
    space, member = _member_space_or_404(request, slug)
    page = space_pages(space=space).filter(slug=page_slug).first()
    if page is None:
        raise Http404
    return _page(request, "page.html", {"space": space, "page": page, "member": member})


def club_offer(request: HttpRequest, slug: str, offer_id: int) -> HttpResponse:
    space, member = _member_space_or_404(request, slug)
    offer = space_offers(space=space).filter(pk=offer_id).first()
    if offer is None:
        raise Http404
    return _page(request, "offer.html", {"space": space, "offer": offer, "member": member})


@never_cache
@csrf_protect
@member_required
def club_code(request: HttpRequest, slug: str) -> HttpResponse:
    space = _space_or_404(slug)
    if space.entry != Space.Entry.CODE:
        raise Http404
    member = request.member  # type: ignore[attr-defined]
    if space_may_enter(space=space, member=member):
        return redirect("club-space", slug=space.slug)
    form = CodeForm(request.POST if request.method == "POST" else None)
    refusal = None
    if form.is_valid():
        try:
            code = form.cleaned_data["code"]
            space_code_attempt(space=space, member=member, code=code, ip=client_ip(request))
        except InvalidInput as error:
            form.add_error("code", error.message)
        except Refused as error:
            refusal = error
        else:
            messages.success(request, _("Welcome to %(space)s.") % {"space": space.name})
            return redirect("club-space", slug=space.slug)
    status = 429 if refusal is not None and refusal.code in LOCKS else 200
    return _page(request, "code.html", {"space": space, "form": form, "refusal": refusal}, status=status)
