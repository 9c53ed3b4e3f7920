"""REST API: events one by one and in batches, idempotent replays, the simulator, and bad events
(each a clear 4xx naming the field, with nothing written)."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from loyalty.models import ActivityEvent, LedgerEntry, Member, ProgrammeSettings
from loyalty.rule_examples import POINT_PER_EURO, SUBURB_TO_PARIS_HAPPY_HOUR
from loyalty.services.ledger import ledger_sum
from loyalty.services.rules import rule_create
from tests.factories import key_make
from tests.support import ApiClient, error_of

PER_EURO = {**POINT_PER_EURO, "limit_period": "day", "limit_points": 500, "priority": 10}
PURCHASE = {
    "member": "E-1",
    "type": "purchase",
    "occurred_at": "2026-03-02T10:15:00+01:00",
    "attributes": {"amount": "42.50", "currency": "EUR"},
}


@pytest.fixture
def programme(in_a):
    """Brand A with a per-euro rule, a happy-hour trip rule and member E-1."""
    rule_create(data=PER_EURO)
    rule_create(data=SUBURB_TO_PARIS_HAPPY_HOUR)
    return Member.objects.create(external_id="E-1", joined_at=timezone.now())


def _written() -> tuple[int, int, int]:
    return ActivityEvent.objects.count(), LedgerEntry.objects.count(), Member.objects.count()


def test_one_event_earns_points_per_beneficiary_with_the_explanation(api_a, programme):
    response = api_a.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "order-1"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["id"], body["member"], body["type"], body["replayed"]) == (
        "order-1",
        "E-1",
        "purchase",
        False,
    )
    assert body["points_awarded"] == 42
    assert body["balance"] == 42
    [award] = body["awards"]
    assert award["beneficiary"] == {"kind": "member", "member": "E-1"}
    assert award["points"] == 42
    assert award["rule"]["name"] == "1 point per euro"
    assert award["explanation"]

    connection.set_tenant(api_a.brand)
    entry = LedgerEntry.objects.get(event__idempotency_key="order-1")
    assert entry.explanation == award["explanation"]
    programme.refresh_from_db()
    assert programme.balance == 42 == ledger_sum(member_id=programme.pk)
    ledger = api_a.get("/api/v1/members/E-1/ledger").json()["results"]
    assert ledger[0]["event"]["id"] == "order-1"
    assert ledger[0]["rule"]["name"] == "1 point per euro"
    assert ledger[0]["explanation"] == award["explanation"]


def test_happy_hour_trip_earns_200_only_in_the_window(api_a, programme):
    trip = {"member": "E-1", "type": "trip", "attributes": {"zone_from": 3, "zone_to": 1}}
    inside = {**trip, "occurred_at": "2026-06-10T19:30:00+02:00"}
    outside = {**trip, "occurred_at": "2026-06-10T17:59:00+02:00"}
    assert (
        api_a.post("/api/v1/events", inside, headers={"Idempotency-Key": "t1"}).json()["points_awarded"]
        == 200
    )
    assert (
        api_a.post("/api/v1/events", outside, headers={"Idempotency-Key": "t2"}).json()["points_awarded"] == 0
    )


def test_sales_rep_earns_as_a_second_beneficiary(api_a, programme):
    rep = get_user_model().objects.create_user(username="rep@alpha.example", password="x", is_staff=True)
    Member.objects.filter(pk=programme.pk).update(sales_rep=rep)
    rule_create(data={**PER_EURO, "name": "Rep bonus", "beneficiary": "sales_rep", "priority": 20})
    body = api_a.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "order-rep"}).json()
    kinds = {award["beneficiary"]["kind"]: award["points"] for award in body["awards"]}
    assert kinds == {"member": 42, "sales_rep": 42}


def test_the_same_key_again_gives_the_same_answer_and_writes_nothing(api_a, programme):
    first = api_a.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "order-2"})
    connection.set_tenant(api_a.brand)
    before = _written()
    again = api_a.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "order-2"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == {**first.json(), "replayed": True}
    assert "Idempotent-Replayed" not in first and again["Idempotent-Replayed"] == "true"
    connection.set_tenant(api_a.brand)
    assert _written() == before
    # The same key for another event is a conflict, not a silent replay.
    other = {**PURCHASE, "attributes": {"amount": "99.00"}}
    error = error_of(api_a.post("/api/v1/events", other, headers={"Idempotency-Key": "order-2"}), 409)
    assert error["field"] == "Idempotency-Key"
    connection.set_tenant(api_a.brand)
    assert _written() == before


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"type": "teleport"}, 400, "type"),
        ({"type": None}, 400, "type"),
        ({"member": None}, 400, "member"),
        ({"member": ""}, 400, "member"),
        ({"member": "nobody"}, 404, "member"),
        ({"member": ["E-1"]}, 400, "member"),
        ({"member": "m" * 65}, 400, "member"),
        ({"attributes": {"amount": "-5"}}, 400, "attributes.amount"),
        ({"attributes": {"amount": "lots"}}, 400, "attributes.amount"),
        ({"attributes": {"amount": "5", "currency": "USD"}}, 400, "attributes.currency"),
        ({"attributes": "amount=5"}, 400, "attributes"),
        ({"attributes": {"items": "SKU-1"}}, 400, "attributes.items"),
        ({"occurred_at": "yesterday"}, 400, "occurred_at"),
        ({"occurred_at": "2026-02-30T10:00:00+01:00"}, 400, "occurred_at"),
        ({"occurred_at": "2026-03-02T10:15:00"}, 400, "occurred_at"),  # no offset: never guessed
        ({"occurred_at": 1772442900}, 400, "occurred_at"),
        ({"occurred_at": None}, 400, "occurred_at"),
        ({"points": 5}, 400, "points"),
    ],
)
def test_bad_events_are_4xx_naming_the_field_and_write_nothing(api_a, programme, change, status, field):
    before = _written()
    body = {
        key: value for key, value in {**PURCHASE, **change}.items() if value is not None
    }  # None: left out
    response = api_a.post("/api/v1/events", body, headers={"Idempotency-Key": f"bad-{uuid.uuid4().hex}"})
    error = error_of(response, status)
    assert error["field"] == field, error
    connection.set_tenant(api_a.brand)
    assert _written() == before


def test_missing_key_and_malformed_bodies_are_400_and_write_nothing(api_a, programme):
    before = _written()
    assert error_of(api_a.post("/api/v1/events", PURCHASE), 400)["field"] == "Idempotency-Key"
    long_key = {"Idempotency-Key": "k" * 129}
    assert (
        error_of(api_a.post("/api/v1/events", PURCHASE, headers=long_key), 400)["field"] == "Idempotency-Key"
    )
    key = {"Idempotency-Key": "malformed"}
    assert error_of(api_a.post("/api/v1/events", raw="{", headers=key), 400)["field"] == "body"
    assert error_of(api_a.post("/api/v1/events", [PURCHASE], headers=key), 400)["field"] == "body"
    assert error_of(api_a.post("/api/v1/events", headers=key), 400)["field"] in {
        "member",
        "type",
        "occurred_at",
    }
    connection.set_tenant(api_a.brand)
    assert _written() == before


def test_unknown_member_is_created_when_the_brand_allows_it(api_a, programme):
    ProgrammeSettings.objects.filter(id=1).update(auto_create_members=True)
    body = {**PURCHASE, "member": "NEW-1"}
    response = api_a.post("/api/v1/events", body, headers={"Idempotency-Key": "auto-1"})
    assert response.status_code == 201, response.content
    assert response.json()["balance"] == 42
    connection.set_tenant(api_a.brand)
    assert Member.objects.get(external_id="NEW-1").balance == 42


def test_batch_records_each_event_and_reports_errors_per_event(api_a, programme):
    Member.objects.create(external_id="E-2", joined_at=timezone.now())
    events = [
        {**PURCHASE, "id": "b-1"},
        {**PURCHASE, "id": "b-2", "member": "nobody"},
        {**PURCHASE, "id": "b-3", "member": "E-2", "attributes": {"amount": "10"}},
        {**PURCHASE, "id": "b-4", "type": "teleport"},
    ]
    response = api_a.post("/api/v1/events/batch", {"events": events})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [result["id"] for result in results] == ["b-1", "b-2", "b-3", "b-4"]
    assert results[0]["points_awarded"] == 42
    # An event's error: the API's one error shape, with the status the event alone would get.
    assert results[1]["error"] == {
        "field": "member",
        "message": "member: no member with external id 'nobody'",
        "code": "not_found",
        "status": 404,
    }
    assert results[2]["points_awarded"] == 10
    assert results[3]["error"] == {
        "field": "type",
        "message": "type: 'teleport' is not an event type of this programme",
        "code": "invalid",
        "status": 400,
    }

    connection.set_tenant(api_a.brand)
    before = _written()
    again = api_a.post("/api/v1/events/batch", {"events": events}).json()["results"]
    assert [result.get("replayed") for result in again] == [True, None, True, None]
    assert again[0] == {**results[0], "replayed": True}
    connection.set_tenant(api_a.brand)
    assert _written() == before
    assert ActivityEvent.objects.filter(idempotency_key__in=["b-1", "b-3"]).count() == 2


@pytest.mark.slow
def test_batch_of_1000_is_accepted(api_a, programme):
    events = [{**PURCHASE, "id": f"k-{index}", "attributes": {"amount": "1"}} for index in range(1000)]
    response = api_a.post("/api/v1/events/batch", {"events": events})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1000
    assert not [result for result in results if "error" in result]
    assert sum(result["points_awarded"] for result in results) == 500
    connection.set_tenant(api_a.brand)
    programme.refresh_from_db()
    assert programme.balance == 500 == ledger_sum(member_id=programme.pk)  # capped at 500 a day


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": [{**PURCHASE, "id": f"x-{index}"} for index in range(1001)]}, "events"),
        ({"events": []}, "events"),
        ({"events": "all of them"}, "events"),
        ({}, "events"),
        ({"events": [{**PURCHASE, "id": "y-1"}], "source": "erp"}, "source"),
        ([{**PURCHASE, "id": "y-1"}], "body"),
    ],
)
def test_malformed_batches_are_400_naming_the_field_and_write_nothing(api_a, programme, body, field):
    before = _written()
    error = error_of(api_a.post("/api/v1/events/batch", body), 400)
    assert error["field"] == field, error
    connection.set_tenant(api_a.brand)
    assert _written() == before


def test_simulate_answers_what_an_event_would_earn_and_writes_nothing(api_a, programme):
    before = _written()
    response = api_a.post("/api/v1/simulate", PURCHASE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["simulated"] is True
    assert body["points_awarded"] == 42
    assert body["awards"][0]["explanation"]
    assert body["trace"]
    error = error_of(api_a.post("/api/v1/simulate", {**PURCHASE, "occurred_at": "soon"}), 400)
    assert error["field"] == "occurred_at"
    error = error_of(api_a.post("/api/v1/simulate", {**PURCHASE, "member": "nobody"}), 404)
    assert error["field"] == "member"
    connection.set_tenant(api_a.brand)
    assert _written() == before


def test_the_same_event_sent_20_times_concurrently_earns_once(fresh_brand):
    connection.set_tenant(fresh_brand)
    rule_create(data=PER_EURO)
    member = Member.objects.create(external_id="E-1", joined_at=timezone.now())
    api = ApiClient(brand=fresh_brand, key=key_make(fresh_brand))
    barrier = threading.Barrier(20)
    answers: list[tuple[int, str | None]] = []

    def send() -> None:
        try:
            barrier.wait()
            response = api.post("/api/v1/events", PURCHASE, headers={"Idempotency-Key": "same-order"})
            answers.append((response.status_code, response.get("Idempotent-Replayed")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers, key=lambda answer: answer[1] or "") == [(201, None)] + [(201, "true")] * 19
    connection.set_tenant(fresh_brand)
    member.refresh_from_db()
    assert member.balance == 42 == ledger_sum(member_id=member.pk)
    assert ActivityEvent.objects.filter(idempotency_key="same-order").count() == 1
