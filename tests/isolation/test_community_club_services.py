"""Tenant isolation of club services: brand B's host, its members' and staff's sessions see and
change nothing of brand A's services and requests (direct ids included)."""

from __future__ import annotations

from django.db import connection
from django.test import Client

from community.models import ServiceRequest
from community.services.club_services import service_request_create
from core.errors import NotFound
from tests.community.factories import service_make
from tests.conftest import host_of
from tests.factories import member_make


def _a_request(brand_a):
    connection.set_tenant(brand_a)
    service = service_make(name="Only in A")
    request = service_request_create(
        member=member_make("iso-a"), service_id=service.pk, text="A's secret text"
    )
    return service, request


def test_bs_host_and_member_session_cannot_see_or_ask_as_services(db, brand_a, brand_b):
    service, request = _a_request(brand_a)
    connection.set_tenant(brand_b)
    b_member = member_make("iso-b-web", login=True)
    b_client = Client(HTTP_HOST=host_of(brand_b))
    b_client.force_login(b_member.user)
    assert "Only in A" not in b_client.get("/community/services/").content.decode()
    assert b_client.get(f"/community/services/{service.pk}/").status_code == 404
    assert b_client.post(f"/community/services/{service.pk}/", {"text": "mine"}).status_code == 404
    assert "secret" not in b_client.get("/community/services/requests/").content.decode()
    try:
        service_request_create(member=b_member, service_id=service.pk, text="mine")
    except NotFound:
        pass
    else:
        raise AssertionError("B's member asked for A's service")

    connection.set_tenant(brand_a)
    assert list(ServiceRequest.objects.values_list("pk", flat=True)) == [request.pk]


def test_bs_staff_cannot_read_or_answer_as_requests(db, brand_a, brand_b, staff_for):
    _, request = _a_request(brand_a)
    staff_b = staff_for(brand_b)
    connection.set_tenant(brand_b)
    base = "/backoffice/community/servicerequest/"
    assert "secret" not in staff_b.get(base).content.decode()
    assert staff_b.get(f"{base}{request.pk}/change/").status_code in (302, 404)
    staff_b.post(f"{base}{request.pk}/change/", {"state": "answered", "answer": "from B"})

    connection.set_tenant(brand_a)
    request.refresh_from_db()
    assert (request.state, request.answer) == ("new", "")
