"""Writes of club services (README "Community > Club services"): a member asks for a service a club
space offers; staff move the request along new → in progress → answered or declined → closed, with
an answer the member is told (`service_request_answered`, after commit).

Lock order: the request's row (`_request_lock`) only; a member's request locks the member's row
(`member_lock`) so that a double click does not file the same request twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from clubs.selectors import space_may_enter
from community.models import ClubService, ServiceRequest
from community.models.club_services import TEXT_MAX_LENGTH
from core.errors import Conflict, InvalidInput, NotFound, Refused
from core.text import NUL, NUL_MESSAGE
from loyalty.models import Member
from loyalty.services.ledger import member_lock
from messaging.models import TriggerKind
from messaging.triggers import trigger_fire

State = ServiceRequest.State
# Where staff may move a request from each state (asking for the state it has changes nothing).
REQUEST_TRANSITIONS: dict[str, set[str]] = {
    State.NEW: {State.IN_PROGRESS, State.ANSWERED, State.DECLINED},
    State.IN_PROGRESS: {State.ANSWERED, State.DECLINED},
    State.ANSWERED: {State.CLOSED, State.IN_PROGRESS},
    State.DECLINED: {State.CLOSED},
    State.CLOSED: set(),
}
# The states whose answer the member is told.
ANSWERING = (State.ANSWERED, State.DECLINED)
# The same text sent again by the member this soon is the first request (a double click).
REPEAT_WINDOW = timedelta(minutes=5)


def service_may_ask(*, service: ClubService, member: Member | None) -> bool:
    """Whether the member may ask for the service: an offered service, an active member, and one
    who may enter the service's club space (a service without a space: every member)."""
    if member is None or member.status != Member.Status.ACTIVE or not service.is_active:
        return False
    return service.space is None or space_may_enter(space=service.space, member=member)


def _text_clean(text: str, *, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("write what you would like", field=field, code="required")
    if len(text) > TEXT_MAX_LENGTH:
        raise InvalidInput(f"at most {TEXT_MAX_LENGTH} characters", field=field, code="too_long")
    if NUL in text:
        raise InvalidInput(NUL_MESSAGE, field=field)
    return text


def service_request_create(
    *, member: Member, service_id: int, text: str, now: datetime | None = None
) -> ServiceRequest:
    """The member asks for the service. Only who may ask (`service_may_ask`); a service they may
    not see is `NotFound`, as a missing one. The same text sent again within minutes returns the
    first request."""
    text = _text_clean(text, field="text")
    now = now or timezone.now()
    service = ClubService.objects.select_related("space").filter(pk=service_id).first()
    if service is None or not service_may_ask(service=service, member=member):
        if service is not None and service.is_active and member.status == Member.Status.ACTIVE:
            raise Refused(
                "this service is for the members of its club space", code="not_your_space", field="service"
            )
        raise NotFound(f"no service {service_id}", field="service")
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        repeat = ServiceRequest.objects.filter(
            service=service, member=locked, text=text, created_at__gte=now - REPEAT_WINDOW
        ).first()
        if repeat is not None:
            return repeat
        return ServiceRequest.objects.create(service=service, member=locked, text=text)


def _request_lock(request_id: int) -> ServiceRequest:
    found = (
        ServiceRequest.objects.select_for_update(of=("self",)).select_related("service").filter(pk=request_id)
    )
    request = found.first()
    if request is None:
        raise NotFound(f"no service request {request_id}", field="request")
    return request


def service_request_check(*, request: ServiceRequest, state: str, answer: str | None) -> str:
    """May staff move `request` to `state` with `answer` (None: the current one)? The answer to
    save, cleaned; field-named `InvalidInput` or `Conflict` otherwise (the backoffice form shows
    them on its fields)."""
    if state not in State.values:
        raise InvalidInput(f"'{state}' is not a state (use {', '.join(State.values)})", field="state")
    new_answer = request.answer if answer is None else (answer or "").strip()
    if state != request.state and state not in REQUEST_TRANSITIONS[request.state]:
        raise Conflict(f"a request that is {request.state} cannot become {state}", field="state")
    if state in ANSWERING:
        return _text_clean(new_answer, field="answer")
    if len(new_answer) > TEXT_MAX_LENGTH:
        raise InvalidInput(f"at most {TEXT_MAX_LENGTH} characters", field="answer", code="too_long")
    return new_answer


def service_request_handle(
    *,
    request_id: int,
    state: str,
    answer: str | None = None,
    user: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> tuple[ServiceRequest, bool]:
    """Staff move a request to `state` (`REQUEST_TRANSITIONS`), with its answer (required to
    answer or decline; `None` keeps the current one). Answering or declining, or changing the
    answer given, tells the member once per answer. The same state and answer again changes
    nothing. Returns (request, changed)."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _request_lock(request_id)
        new_answer = service_request_check(request=request, state=state, answer=answer)
        if state == request.state and new_answer == request.answer:
            return request, False
        told = state in ANSWERING
        request.state = state
        request.answer = new_answer
        if user is not None:
            request.handled_by_id = user.pk
        if told:
            request.answered_at = now
        request.save()
        if told:
            member = request.member
            cause = f"service_request:{request.pk}:{int(now.timestamp())}"
            transaction.on_commit(
                lambda: trigger_fire(
                    kind=TriggerKind.SERVICE_REQUEST_ANSWERED, member=member, variables={}, dedupe_key=cause
                )
            )
    return request, True
