"""Club services (README "Community > Club services"): only who may enter the service's club space
asks; staff move requests along their states with an answer the member is told; the site lists
the services, takes the request and shows the member's requests with their answers."""

from __future__ import annotations

import pytest
from django.db import connection

from community.demo.club_services import seed
from community.models import ClubService, ServiceRequest
from community.services.club_services import service_request_create, service_request_handle
from core.errors import Conflict, InvalidInput, NotFound, Refused
from messaging.models import Message
from messaging.triggers import trigger_put
from tests.community.factories import cellar_make, service_make, vip_make
from tests.factories import member_make, staff_make, template_make

State = ServiceRequest.State


def test_only_who_may_enter_the_space_asks(in_a):
    service = service_make(cellar_make())
    vip, plain = vip_make("vip"), member_make("plain")
    request = service_request_create(member=vip, service_id=service.pk, text="About 300 bottles, Médoc.")
    assert request.state == State.NEW and request.member_id == vip.pk
    with pytest.raises(Refused) as error:
        service_request_create(member=plain, service_id=service.pk, text="Me too")
    assert (error.value.code, error.value.field) == ("not_your_space", "service")
    open_to_all = service_make(name="Gift wrapping")
    assert service_request_create(member=plain, service_id=open_to_all.pk, text="Wrap it").pk


def test_a_switched_off_or_unknown_service_is_not_found(in_a):
    member = member_make("m")
    off = service_make(is_active=False)
    for service_id in (off.pk, 999999):
        with pytest.raises(NotFound) as error:
            service_request_create(member=member, service_id=service_id, text="Hello")
        assert error.value.field == "service"


@pytest.mark.parametrize("text", ["", "   ", "x" * 5001, "nul \x00 here"])
def test_a_request_without_a_proper_text_is_invalid(in_a, text):
    with pytest.raises(InvalidInput) as error:
        service_request_create(member=member_make("m"), service_id=service_make().pk, text=text)
    assert error.value.field == "text"


def test_the_same_request_sent_twice_is_filed_once(in_a):
    member, service = member_make("m"), service_make()
    first = service_request_create(member=member, service_id=service.pk, text="Please value it")
    again = service_request_create(member=member, service_id=service.pk, text="Please value it")
    assert again.pk == first.pk and ServiceRequest.objects.count() == 1


def test_staff_answer_once_and_the_member_is_told(in_a, django_capture_on_commit_callbacks):
    template_make("answered", body="Answered: see the site", purpose="service")
    trigger_put(
        kind="service_request_answered", channel="sms", data={"template_code": "answered", "is_active": True}
    )
    member = member_make("m", phone="+33612345678")
    request = service_request_create(member=member, service_id=service_make().pk, text="Please value it")
    staff = staff_make("support")
    with django_capture_on_commit_callbacks(execute=True):
        service_request_handle(request_id=request.pk, state=State.IN_PROGRESS, user=staff)
        with pytest.raises(InvalidInput) as error:
            service_request_handle(request_id=request.pk, state=State.ANSWERED, answer="  ")
        assert error.value.field == "answer"
        handled, changed = service_request_handle(
            request_id=request.pk, state=State.ANSWERED, answer="Tuesday at 10:00?", user=staff
        )
        assert changed and handled.answered_at and handled.handled_by_id == staff.pk
        _, changed = service_request_handle(
            request_id=request.pk, state=State.ANSWERED, answer="Tuesday at 10:00?"
        )
        assert not changed
    assert Message.objects.filter(trigger="service_request_answered", member=member).count() == 1
    service_request_handle(request_id=request.pk, state=State.CLOSED)
    with pytest.raises(Conflict) as error:
        service_request_handle(request_id=request.pk, state=State.ANSWERED, answer="Again")
    assert error.value.field == "state"
    with pytest.raises(InvalidInput) as error:
        service_request_handle(request_id=request.pk, state="lost")
    assert error.value.field == "state"


def test_the_site_lists_the_services_takes_a_request_and_shows_its_answer(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    service = service_make(cellar_make(), request_help="How many bottles?")
    vip, plain = vip_make("vip-web"), member_make("plain-web", login=True)
    client = client_for(brand_a)
    client.force_login(vip.user)
    page = client.get("/community/services/").content.decode()
    assert "Cellar valuation" in page and "The Cellar Club" in page
    form = client.get(f"/community/services/{service.pk}/").content.decode()
    assert "How many bottles?" in form
    assert client.post(f"/community/services/{service.pk}/", {"text": ""}).status_code == 400
    response = client.post(f"/community/services/{service.pk}/", {"text": "About <b>300</b> bottles"})
    assert response.status_code == 302 and response["Location"] == "/community/services/requests/"
    request = ServiceRequest.objects.get(member=vip)
    service_request_handle(request_id=request.pk, state=State.ANSWERED, answer="Our sommelier calls you")
    mine = client.get("/community/services/requests/").content.decode()
    assert "Our sommelier calls you" in mine and "About &lt;b&gt;300&lt;/b&gt; bottles" in mine

    other = client_for(brand_a)
    other.force_login(plain.user)
    assert "Cellar valuation" not in other.get("/community/services/").content.decode()
    assert other.get(f"/community/services/{service.pk}/").status_code == 404
    assert "Our sommelier" not in other.get("/community/services/requests/").content.decode()
    anonymous = client_for(brand_a).get(f"/community/services/{service.pk}/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_the_staff_queue_answers_through_the_service(db, brand_a, staff_for):
    connection.set_tenant(brand_a)
    member = member_make("queued")
    request = service_request_create(member=member, service_id=service_make().pk, text="Please value it")
    staff = staff_for(brand_a)
    url = f"/backoffice/community/servicerequest/{request.pk}/change/"
    listing = staff.get("/backoffice/community/servicerequest/")
    assert listing.status_code == 200 and "Cellar valuation" in listing.content.decode()
    refused = staff.post(url, {"state": "answered", "answer": ""})
    assert refused.status_code == 200 and "write what you would like" in refused.content.decode()
    assert staff.post(url, {"state": "answered", "answer": "Yes, Tuesday"}).status_code == 302
    request.refresh_from_db()
    assert (request.state, request.answer, request.text) == ("answered", "Yes, Tuesday", "Please value it")
    assert staff.get("/backoffice/community/servicerequest/add/").status_code == 403
    services = staff.get("/backoffice/community/clubservice/")
    assert services.status_code == 200 and "Cellar valuation" in services.content.decode()


def test_the_demo_offers_the_cellar_valuation_once(in_a):
    cellar_make()
    seed(slug="grand-cru")
    seed(slug="grand-cru")
    service = ClubService.objects.get()
    assert service.space.slug == "cellar" and "sommelier" in service.name
    seed(slug="citycar")
    assert ClubService.objects.count() == 1
