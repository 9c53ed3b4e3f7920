"""The domain errors (core.errors) and the API answer each one maps to: the one error shape, with
the status of its kind. The API tests check the same through real requests."""

from __future__ import annotations

import pytest

from core.api.errors import api_exception_handler
from core.errors import Conflict, DomainError, InvalidInput, NotFound, Refused


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
