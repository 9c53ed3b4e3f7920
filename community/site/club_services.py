"""The member site's club services (README "Community > Club services"): the services a member may
ask for (those of the club spaces they may enter, and those of no space), a service's page with the
request form, and the member's requests with their states and answers. A service the visitor may
not ask for is a 404, as a missing one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext, gettext_lazy

from catalog.views import member_required, site_member
from community.models.club_services import TEXT_MAX_LENGTH
from community.selectors.club_services import member_requests, service_for, services_for
from community.services.club_services import service_request_create
from core.errors import DomainError


class RequestForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=TEXT_MAX_LENGTH,
        label=gettext_lazy("Your request"),
    )


def service_list(request: HttpRequest) -> HttpResponse:
    member = site_member(request)
    space = request.GET.get("space", "").strip()
    return render(
        request,
        "community/site/club_services/list.html",
        {"services": services_for(member=member, space_slug=space), "member": member},
    )


def service_detail(request: HttpRequest, service_id: int) -> HttpResponse:
    member = site_member(request)
    service = service_for(service_id=service_id, member=member)
    if service is None:
        if member is None and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404("no such service")
    form = RequestForm(request.POST or None)
    if request.method == "POST" and member is not None and form.is_valid():
        try:
            service_request_create(member=member, service_id=service.pk, text=form.cleaned_data["text"])
        except DomainError as error:
            form.add_error("text" if error.field == "text" else None, error.message)
        else:
            messages.success(
                request, gettext("Your request is sent: we will answer you here and by message.")
            )
            return redirect("community-service-requests")
    return render(
        request,
        "community/site/club_services/detail.html",
        {"service": service, "member": member, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@member_required
def request_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "community/site/club_services/requests.html",
        {"requests": list(member_requests(member=request.member)[:100])},
    )


urlpatterns = [
    path("community/services/", service_list, name="community-services"),
    path("community/services/<int:service_id>/", service_detail, name="community-service"),
    path("community/services/requests/", request_list, name="community-service-requests"),
]
