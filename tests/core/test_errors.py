"""The domain errors (core.errors) and the API answer each one maps to: the one error shape, with
the status of its kind; then, through real requests, every kind of API error in that shape: a field
error, a missing member, a conflict, a refused redemption, a bad key, a suspended brand, an unknown
path (any method), an unknown host."""

from __future__ import annotations

import pytest
from django.test import Client

from catalog.models import Gift
from core.api.errors import api_exception_handler
from core.errors import Conflict, DomainError, InvalidInput, NotFound, Refused
from loyalty.services.members import member_anonymise
from tenants.services import brand_suspend
from tests.catalog.factories import ADDRESS, gift_make
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import ApiClient, error_of


def answer(exc: Exception) -> tuple[int, dict]:
    response = api_exception_handler(exc, {})
    return response.status_code, response.data["error"]


def test_errors_per_field_answer_400_listing_every_field():
    status, error = answer(InvalidInput({"name": ["is required"], "threshold": ["must be >= 0", "too big"]}))
    assert status == 400
    assert error == {
        "field": "name",
        "message": "name: is required",
        "code": "invalid",
        "details": {"name": ["is required"], "threshold": ["must be >= 0", "too big"]},
    }


def test_an_error_about_one_input_names_it_with_its_code():
    status, error = answer(InvalidInput("at most 50 gifts per order", field="items", code="too_many"))
    assert (status, error) == (
        400,
        {"field": "items", "message": "items: at most 50 gifts per order", "code": "too_many"},
    )


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (NotFound("no member M-1", field="member"), 404, "not_found"),
        (Conflict("this key was already used", field="Idempotency-Key"), 409, "conflict"),
        (Refused("40 points short", code="insufficient_points", field="points"), 422, "insufficient_points"),
        (Refused("the shop is closed", code="unavailable"), 422, "unavailable"),
    ],
)
def test_each_kind_answers_its_status(exc, status, code):
    got_status, error = answer(exc)
    assert (got_status, error["code"]) == (status, code)
    assert error["field"] == exc.field
    assert error["message"].endswith(exc.message)


def test_a_conflict_can_list_errors_per_field():
    status, error = answer(Conflict({"tier": ["2 member(s) hold this tier"]}))
    assert status == 409
    assert error["field"] == "tier"
    assert error["details"] == {"tier": ["2 member(s) hold this tier"]}


def test_no_field_errors_still_answer_in_the_shape():
    status, error = answer(InvalidInput({}))
    assert (status, error) == (400, {"field": None, "message": "invalid input", "code": "invalid"})


def test_errors_read_the_same_whichever_way_they_were_made():
    by_field = InvalidInput({"slug": ["is taken"], "name": ["is required"]})
    one = InvalidInput("is taken", field="slug")
    assert str(by_field) == "slug: is taken; name: is required"
    assert str(one) == "is taken"
    assert one.errors == {"slug": ["is taken"]}
    assert InvalidInput("the file is empty").errors == {"": ["the file is empty"]}
    assert isinstance(Refused("closed", code="unavailable"), DomainError)


# --- through real requests: every error of /api/v1/ is in the one shape --------------------------


@pytest.fixture
def api(api_a, in_a):
    """Brand A's systems, with member M-1 (100 points), anonymised member M-GONE and a gift of 500."""
    member_make("M-1", points=100)
    member_anonymise(member=member_make("M-GONE"), by=None, reason="erasure")
    gift_make(reference="DEAR", points_price=500)
    return api_a


def test_field_errors_missing_members_conflicts_and_refusals_are_in_the_one_shape(api):
    gift = Gift.objects.get(reference="DEAR")
    redeem = {"items": [{"gift_id": gift.pk}], "shipping_address": ADDRESS}
    cases = [
        (api.put("/api/v1/members/M-1", {"email": "not-an-email"}), 400, "email", "invalid"),
        (api.get("/api/v1/members/nobody"), 404, "external_id", "not_found"),
        (api.put("/api/v1/members/M-GONE", {"city": "Lyon"}), 409, "external_id", "member_anonymised"),
        (
            api.post("/api/v1/members/M-1/redemptions", redeem, headers={"Idempotency-Key": "r-1"}),
            422,
            "items",
            "insufficient_points",
        ),
        (ApiClient(brand=api.brand, key="lk_unknown").get("/api/v1/members/M-1"), 401, "Authorization", None),
    ]
    for response, status, field, code in cases:
        error = error_of(response, status)
        assert error["field"] == field, error
        assert code is None or error["code"] == code, error


def test_a_suspended_brand_answers_its_api_in_the_one_shape(api):
    brand_suspend(brand=api.brand)
    for response in (api.get("/api/v1/members/M-1"), api.post("/api/v1/events", {})):
        error = error_of(response, 403)
        assert (error["field"], error["code"]) == (None, "brand_suspended")


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_path_with_any_method_is_a_404_in_the_one_shape(api, method):
    client = Client(HTTP_HOST=host_of(api.brand), enforce_csrf_checks=True)
    body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
    response = getattr(client, method)("/api/v1/nowhere", HTTP_AUTHORIZATION=f"Api-Key {api.key}", **body)
    assert error_of(response, 404)["code"] == "not_found"


@pytest.mark.parametrize("host", ["nobody.localhost", "not_a_host!"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_host_is_a_404_in_the_one_shape_under_the_api_only(db, host, method):
    client = Client(HTTP_HOST=host)
    error = error_of(getattr(client, method)("/api/v1/members/M-1"), 404)
    assert (error["field"], error["code"]) == (None, "unknown_host")
    assert client.get("/").status_code == 404
    assert not client.get("/")["Content-Type"].startswith("application/json")
