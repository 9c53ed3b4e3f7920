"""Reads of club services (README "Community > Club services"): the services a member may ask for,
and the member's requests with their states."""

from __future__ import annotations

from django.db.models import QuerySet

from community.models import ClubService, ServiceRequest
from community.services.club_services import service_may_ask
from loyalty.models import Member


def services_for(*, member: Member | None, space_slug: str = "") -> list[ClubService]:
    """The offered services the member may ask for (a visitor: those of no space, to read), of one
    club space when `space_slug` is given."""
    services = ClubService.objects.filter(is_active=True).select_related("space")
    if space_slug:
        services = services.filter(space__slug=space_slug)
    if member is None:
        return list(services.filter(space__isnull=True))
    return [service for service in services if service_may_ask(service=service, member=member)]


def service_for(*, service_id: int, member: Member | None) -> ClubService | None:
    """The service if the member may ask for it (None: a 404 for them, as a missing one)."""
    service = ClubService.objects.select_related("space").filter(pk=service_id, is_active=True).first()
    if service is None or not service_may_ask(service=service, member=member):
        return None
    return service


def member_requests(*, member: Member) -> QuerySet[ServiceRequest]:
    """The member's requests, newest first."""
    return (
        ServiceRequest.objects.filter(member=member).select_related("service").order_by("-created_at", "-pk")
    )
