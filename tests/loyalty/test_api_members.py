"""REST API: members (create/update, read), their ledger, adjustments."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from loyalty.models import Consent, LedgerEntry, Member, MemberAudit, PointLot, Tier
from loyalty.services.ledger import EntryCause, ledger_sum, member_lock, points_credit
from loyalty.services.members import member_anonymise
from tenants.selectors import brand_timezone
from tests.support import error_of

ALICE = {
    "first_name": "Alice",
    "last_name": "Martin",
    "email": "alice@example.com",
    "phone": "+33612345678",
    "tags": ["early", "paris"],
    "consents": {"email": True, "sms": False},
}


def test_put_creates_then_updates_a_member_with_consents(api_a, in_a):
    response = api_a.put("/api/v1/members/C-1", ALICE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["external_id"] == "C-1"
    assert body["first_name"] == "Alice"
    assert body["tags"] == ["early", "paris"]
    assert body["consents"]["email"]["granted"] is True
    assert body["consents"]["sms"]["granted"] is False
    assert body["consents"]["email"]["source"] == "api"
    assert body["points"] == {"balance": 0, "spendable": 0, "pending": 0, "owed": 0, "next_expiry": None}

    response = api_a.put("/api/v1/members/C-1", {"city": "Lyon", "consents": {"sms": True}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["first_name"], body["city"]) == ("Alice", "Lyon")  # fields left out keep their value
    assert body["consents"]["sms"]["granted"] is True

    connection.set_tenant(in_a)
    member = Member.objects.get(external_id="C-1")
    assert member.city == "Lyon"
    assert Consent.objects.get(member=member, channel="sms").granted is True
    assert Member.objects.filter(external_id="C-1").count() == 1


def test_get_member_gives_balance_tier_and_points_expiring_next(api_a, in_a):
    gold = Tier.objects.create(code="gold", name="Gold", threshold=1000)
    member = Member.objects.create(external_id="C-2", joined_at=timezone.now(), tier=gold)
    now = timezone.now()
    soon = now + timedelta(days=10)
    with_lock = member_lock(member_id=member.pk)
    cause = EntryCause(reason="test")
    points_credit(member=with_lock, points=120, kind="adjust", cause=cause, expires_at=soon)
    points_credit(
        member=with_lock, points=30, kind="adjust", cause=cause, expires_at=soon + timedelta(hours=1)
    )
    points_credit(
        member=with_lock, points=500, kind="adjust", cause=cause, expires_at=now + timedelta(days=90)
    )
    points_credit(member=with_lock, points=7, kind="adjust", cause=cause, use_policy_expiry=False)

    response = api_a.get("/api/v1/members/C-2")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tier"] == {"code": "gold", "name": "Gold"}
    points = body["points"]
    assert points["balance"] == 657 == ledger_sum(member_id=member.pk)
    assert points["spendable"] == 657
    connection.set_tenant(in_a)
    local_day = soon.astimezone(brand_timezone()).date()
    same_day = (soon + timedelta(hours=1)).astimezone(brand_timezone()).date() == local_day
    assert points["next_expiry"]["date"] == local_day.isoformat()
    assert points["next_expiry"]["points"] == (150 if same_day else 120)
    assert datetime.fromisoformat(points["next_expiry"]["expires_at"]) == soon


def test_get_unknown_member_is_a_404_naming_the_external_id(api_a):
    error = error_of(api_a.get("/api/v1/members/nobody"), 404)
    assert error["field"] == "external_id"
    assert "nobody" in error["message"]


def test_put_member_bad_inputs_are_400_naming_the_field_and_write_nothing(api_a, in_a):
    cases = [
        ({"phone": "0612"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"kind": "robot"}, "kind"),
        ({"kind": "reseller"}, "company_name"),
        ({"tags": "not-a-list"}, "tags"),
        ({"is_vip": "perhaps"}, "is_vip"),
        ({"consents": {"pigeon": True}}, "consents"),
        ({"consents": ["email"]}, "consents"),
        ({"first_name": {"nested": 1}}, "first_name"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"siret": "123"}, "siret"),
    ]
    for body, field in cases:
        error = error_of(api_a.put("/api/v1/members/C-3", body), 400)
        assert error["field"] == field, (body, error)
    error = error_of(api_a.put("/api/v1/members/" + "x" * 65, {}), 400)
    assert error["field"] == "external_id"
    connection.set_tenant(in_a)
    assert not Member.objects.filter(external_id="C-3").exists()


def test_member_body_must_be_a_json_object(api_a, in_a):
    error = error_of(api_a.put("/api/v1/members/C-4", raw="{not json"), 400)
    assert error["field"] == "body"
    assert error["code"] == "parse_error"
    error = error_of(api_a.put("/api/v1/members/C-4", [1, 2]), 400)
    assert error["field"] == "body"
    response = api_a._client().put(
        "/api/v1/members/C-4",
        data="first_name=Bob",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Api-Key {api_a.key}",
    )
    error = error_of(response, 415)
    assert error["field"] == "Content-Type"
    connection.set_tenant(in_a)
    assert not Member.objects.filter(external_id="C-4").exists()


def test_put_on_an_anonymised_member_is_a_409_and_writes_nothing(api_a, in_a):
    assert api_a.put("/api/v1/members/C-6", ALICE).status_code == 201
    connection.set_tenant(in_a)
    member = member_anonymise(member=Member.objects.get(external_id="C-6"), by=None, reason="GDPR erasure")
    stored_consents = Consent.objects.filter(member=member).values_list("channel", "granted", "changed_at")
    consents = list(stored_consents)
    for body in (ALICE, {"city": "Lyon"}, {"consents": {"sms": True}}, {}):
        error = error_of(api_a.put("/api/v1/members/C-6", body), 409)
        assert (error["field"], error["code"]) == ("external_id", "member_anonymised"), body
    connection.set_tenant(in_a)
    stored = Member.objects.get(pk=member.pk)
    assert (stored.first_name, stored.email, stored.phone, stored.city) == ("", "", "", "")
    assert (stored.status, stored.updated_at) == ("anonymised", member.updated_at)
    assert list(stored_consents.all()) == consents
    assert MemberAudit.objects.filter(member=member).count() == 1


def _member_with_points(points: int) -> Member:
    member = Member.objects.create(external_id="C-5", joined_at=timezone.now())
    points_credit(
        member=member_lock(member_id=member.pk), points=points, kind="adjust", cause=EntryCause(reason="seed")
    )
    return member


def test_ledger_lists_entries_newest_first_paginated_with_their_cause(api_a, in_a):
    member = _member_with_points(10)
    for index in range(4):
        points_credit(
            member=member_lock(member_id=member.pk),
            points=index + 1,
            kind="earn",
            cause=EntryCause(explanation={"rule": "test", "n": index}),
            at=timezone.now() + timedelta(seconds=index + 1),
        )
    response = api_a.get("/api/v1/members/C-5/ledger?limit=2")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 5
    assert [entry["points"] for entry in body["results"]] == [4, 3]
    assert body["results"][0]["explanation"] == {"rule": "test", "n": 3}
    assert body["results"][0]["kind"] == "earn"
    assert body["results"][0]["balance_after"] == 20
    assert "offset=2" in body["next"]
    last = api_a.get("/api/v1/members/C-5/ledger?limit=2&offset=4").json()
    assert [(entry["kind"], entry["reason"]) for entry in last["results"]] == [("adjust", "seed")]
    capped = api_a.get("/api/v1/members/C-5/ledger?limit=100000").json()
    assert len(capped["results"]) == 5 and capped["next"] is None  # a large limit is accepted (capped at 500)
    error_of(api_a.get("/api/v1/members/nobody/ledger"), 404)


def test_adjustment_adds_and_takes_points_with_a_reason(api_a, in_a):
    member = _member_with_points(100)
    response = api_a.post("/api/v1/members/C-5/adjustments", {"points": 25, "reason": "goodwill"})
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "adjust"
    assert response.json()["balance_after"] == 125
    response = api_a.post("/api/v1/members/C-5/adjustments", {"points": -40, "reason": "correction"})
    assert response.status_code == 201, response.content
    assert response.json()["points"] == -40
    connection.set_tenant(in_a)
    member.refresh_from_db()
    assert member.balance == 85 == ledger_sum(member_id=member.pk)


def test_adjustment_with_the_same_key_writes_once(api_a, in_a):
    member = _member_with_points(100)
    headers = {"Idempotency-Key": "adj-1"}
    first = api_a.post("/api/v1/members/C-5/adjustments", {"points": 5, "reason": "promo"}, headers=headers)
    again = api_a.post("/api/v1/members/C-5/adjustments", {"points": 5, "reason": "promo"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert "Idempotent-Replayed" not in first and again["Idempotent-Replayed"] == "true"
    connection.set_tenant(in_a)
    assert LedgerEntry.objects.filter(member=member).count() == 2
    # The same key for another adjustment is refused, not silently answered with the first one.
    error = error_of(
        api_a.post("/api/v1/members/C-5/adjustments", {"points": 6, "reason": "promo"}, headers=headers), 409
    )
    assert error["field"] == "Idempotency-Key"
    connection.set_tenant(in_a)
    member.refresh_from_db()
    assert member.balance == 105 == ledger_sum(member_id=member.pk)


def test_adjustment_bad_inputs_are_4xx_and_write_nothing(api_a, in_a):
    member = _member_with_points(10)
    cases = [
        ({"points": 0, "reason": "x"}, 400, "points"),
        ({"points": "ten", "reason": "x"}, 400, "points"),
        ({"points": 1.5, "reason": "x"}, 400, "points"),
        ({"points": 5}, 400, "reason"),
        ({"points": 5, "reason": "   "}, 400, "reason"),
        ({"points": 10**12, "reason": "x"}, 400, "points"),
        ({"points": -11, "reason": "too much"}, 409, "points"),
        (None, 400, "points"),
    ]
    for body, status, field in cases:
        error = error_of(api_a.post("/api/v1/members/C-5/adjustments", body), status)
        assert error["field"] == field, (body, error)
    error = error_of(api_a.post("/api/v1/members/nobody/adjustments", {"points": 1, "reason": "x"}), 404)
    assert error["field"] == "external_id"
    error = error_of(
        api_a.post(
            "/api/v1/members/C-5/adjustments",
            {"points": 1, "reason": "x"},
            headers={"Idempotency-Key": "k" * 129},
        ),
        400,
    )
    assert error["field"] == "Idempotency-Key"
    connection.set_tenant(in_a)
    member.refresh_from_db()
    assert member.balance == 10 == ledger_sum(member_id=member.pk)
    assert PointLot.objects.filter(member=member).count() == 1


def test_points_pending_and_times_in_the_brand_timezone(api_a, in_a):
    from loyalty.models import ProgrammeSettings

    ProgrammeSettings.objects.update_or_create(id=1, defaults={"pending_days": 30})
    member = _member_with_points(10)  # an adjustment: spendable at once
    points_credit(
        member=member_lock(member_id=member.pk),
        points=40,
        kind="earn",
        cause=EntryCause(explanation={"x": 1}),
    )
    body = api_a.get("/api/v1/members/C-5").json()
    assert body["points"]["balance"] == 50
    assert (body["points"]["spendable"], body["points"]["pending"]) == (10, 40)
    # Times come out in the brand's timezone (Europe/Paris), with their offset.
    assert body["joined_at"][-6:] in ("+01:00", "+02:00")
    joined = datetime.fromisoformat(body["joined_at"])
    connection.set_tenant(in_a)
    assert joined.utcoffset() == member.joined_at.astimezone(brand_timezone()).utcoffset()
    assert joined == member.joined_at


def test_the_same_adjustment_sent_10_times_concurrently_is_written_once(fresh_brand):
    import threading

    from tests.factories import key_make
    from tests.support import ApiClient

    connection.set_tenant(fresh_brand)
    member = Member.objects.create(external_id="C-9", joined_at=timezone.now())
    api = ApiClient(brand=fresh_brand, key=key_make(fresh_brand))
    barrier = threading.Barrier(10)
    answers: list[tuple[int, int]] = []

    def send() -> None:
        try:
            barrier.wait()
            response = api.post(
                "/api/v1/members/C-9/adjustments",
                {"points": 25, "reason": "goodwill"},
                headers={"Idempotency-Key": "adj-race"},
            )
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 10
    assert {status for status, _ in answers} == {201}
    assert len({entry_id for _, entry_id in answers}) == 1  # one entry, the same answer to all
    connection.set_tenant(fresh_brand)
    member.refresh_from_db()
    assert member.balance == 25 == ledger_sum(member_id=member.pk)
