"""Imports as jobs (a real Celery worker): members and past events, a dry run first; bad rows are
reported and not written, good rows land whole, a file imported twice changes nothing the second
time, past events earn through the rules once."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from catalog.models import Gift, VoucherCode
from core.jobs import job_result_open
from core.models import Job
from loyalty.imports import import_start
from loyalty.models import ActivityEvent, LedgerEntry, Member, MemberAudit
from loyalty.rule_examples import POINT_PER_EURO
from loyalty.services.members import member_anonymise
from loyalty.services.rules import rule_create
from tests.catalog.factories import gift_make
from tests.factories import member_make
from tests.support import assert_invariants

pytestmark = pytest.mark.usefixtures("celery_worker")

HEADER = "external_id,kind,company_name,siret,address_line1,postal_code,city,country,phone,email,sales_rep\n"
GOOD = [
    "R-1,reseller,Garage Dupont,73282932000074,1 rue de la Paix,75002,Paris,FR,+33612345678,a@dupont.fr,"
    "rep@example.com\n",
    "R-2,reseller,Cycles Martin,,2 av. Foch,69006,Lyon,fr,+33698765432,,rep\n",
    "C-3,,,,,,Nantes,,,c3@example.com,\n",
]
BAD = [
    "R-4,reseller,Bad Siret,123,,,,,,,\n",  # line 5: siret
    "R-5,reseller,Bad Phone,,,,,,0612,,\n",  # line 6: phone
    "R-6,reseller,No Rep,,,,,,,,nobody@example.com\n",  # line 7: sales_rep
    "R-7,reseller,,,,,,,,,\n",  # line 8: company_name
    "R-8,customer,,,,,,XX,,,\n",  # line 9: country
    "R-9,,,,,,,,,,\n",  # line 10: external id twice
    "R-9,,,,,,,,,,\n",  # line 11
]


def _wait(job: Job, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in (Job.State.DONE, Job.State.FAILED):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job.pk} still {job.state}")


def _run(kind: str, content: str, *, dry_run: bool, by=None, name: str = "file.csv", params=None) -> Job:
    job = import_start(
        kind=kind, content=content.encode(), filename=name, dry_run=dry_run, by=by, **(params or {})
    )
    job = _wait(job)
    assert job.state == Job.State.DONE, job.message
    return job


@pytest.fixture
def brand(fresh_brand):
    connection.set_tenant(fresh_brand)
    return fresh_brand


@pytest.fixture
def rep(brand):
    return get_user_model().objects.create_user(username="rep", email="rep@example.com", is_staff=True)


def test_bad_member_rows_are_reported_and_the_good_ones_land_after_a_dry_run(brand, rep):
    content = HEADER + "".join(GOOD + BAD)

    dry = _run("loyalty.members_import", content, dry_run=True)

    assert dry.counts == {"created": 3, "invalid": 7}
    assert (dry.total, dry.done) == (10, 10)
    assert not Member.objects.exists()
    by_line = {(error["row"], error["field"]) for error in dry.errors}
    assert by_line == {
        (5, "siret"),
        (6, "phone"),
        (7, "sales_rep"),
        (8, "company_name"),
        (9, "country"),
        (10, "external_id"),
        (11, "external_id"),
    }

    job = _run("loyalty.members_import", content, dry_run=False, by=rep)

    assert job.counts == dry.counts
    assert {(error["row"], error["field"]) for error in job.errors} == by_line
    assert sorted(Member.objects.values_list("external_id", flat=True)) == ["C-3", "R-1", "R-2"]
    first = Member.objects.get(external_id="R-1")
    assert (first.company_name, first.siret, first.city, first.sales_rep_id) == (
        "Garage Dupont",
        "73282932000074",
        "Paris",
        rep.pk,
    )
    assert Member.objects.get(external_id="R-2").country == "FR"
    assert Member.objects.get(external_id="C-3").kind == "customer"
    assert MemberAudit.objects.filter(action="sales_rep", by=rep).count() == 2
    for member in Member.objects.all():
        assert_invariants(member.pk)
    with job_result_open(job=job) as file:
        report = file.read().decode()
    assert "6,R-5,phone," in report and report.count("\n") == 8


def test_a_member_file_imported_twice_changes_nothing_the_second_time(brand, rep):
    content = HEADER + "".join(GOOD)
    _run("loyalty.members_import", content, dry_run=False)
    before = list(Member.objects.order_by("pk").values())
    audits = MemberAudit.objects.count()

    again = _run("loyalty.members_import", content, dry_run=False)

    assert again.counts == {"unchanged": 3}
    assert list(Member.objects.order_by("pk").values()) == before
    assert MemberAudit.objects.count() == audits

    moved = _run("loyalty.members_import", "external_id,city\nR-1,Lille\nR-2,Lyon\n", dry_run=False)

    assert moved.counts == {"updated": 1, "unchanged": 1}
    assert Member.objects.get(external_id="R-1").city == "Lille"
    assert Member.objects.get(external_id="R-1").company_name == "Garage Dupont"  # a column left out stays


def test_an_anonymised_member_is_not_set_again_by_an_import(brand):
    member = member_make("GONE", first_name="Ann")
    member_anonymise(member=member, by=None, reason="asked")

    job = _run("loyalty.members_import", "external_id,first_name\nGONE,Bob\nNEW,Zoe\n", dry_run=False)

    assert job.counts == {"invalid": 1, "created": 1}
    assert job.errors[0]["field"] == "external_id"
    assert Member.objects.get(external_id="GONE").first_name == ""


def test_a_file_without_external_id_fails_the_job_saying_why(brand):
    job = import_start(
        kind="loyalty.members_import", content=b"name\nx\n", filename="m.csv", dry_run=True, by=None
    )

    job = _wait(job)

    assert job.state == Job.State.FAILED
    assert "external_id" in job.message


EVENTS = (
    "id,member,type,occurred_at,amount,currency\n"
    "EV-1,E-1,purchase,2025-06-01 10:00,42.50,EUR\n"
    "EV-2,E-1,purchase,2025-06-02T11:00:00+02:00,10,EUR\n"
    "EV-3,NOBODY,purchase,2025-06-02 11:00,10,EUR\n"  # line 4: unknown member
    "EV-4,E-1,purchase,yesterday,10,EUR\n"  # line 5: a date that does not read
    "EV-5,E-1,,2025-06-02 11:00,10,EUR\n"  # line 6: no type
)


def test_past_events_earn_through_the_rules_once(brand):
    rule_create(data=POINT_PER_EURO)
    member = Member.objects.create(external_id="E-1", joined_at=timezone.now())

    dry = _run("loyalty.events_import", EVENTS, dry_run=True)

    assert dry.counts == {"created": 2, "invalid": 3}
    assert "52 points" in dry.message
    assert not ActivityEvent.objects.exists() and not LedgerEntry.objects.exists()
    assert {(error["row"], error["field"]) for error in dry.errors} == {
        (4, "member"),
        (5, "occurred_at"),
        (6, "type"),
    }

    job = _run("loyalty.events_import", EVENTS, dry_run=False)

    assert job.counts == dry.counts
    member.refresh_from_db()
    assert member.balance == 52
    assert_invariants(member.pk)
    assert (
        ActivityEvent.objects.get(idempotency_key="EV-1").occurred_at.isoformat()
        == "2025-06-01T08:00:00+00:00"
    )

    again = _run("loyalty.events_import", EVENTS, dry_run=False)

    assert again.counts == {"unchanged": 2, "invalid": 3}
    member.refresh_from_db()
    assert member.balance == 52
    assert ActivityEvent.objects.count() == 2


GIFTS = (
    "reference,name,points_price\n"
    "G-1,Mug,100\n"
    "G-2,Cap,-5\n"  # line 3: points_price
    "G-3,Bag,300\n"
)


def test_gifts_import_as_a_job_reports_bad_rows_and_lands_good_ones(brand):
    dry = _run("catalog.gifts_import", GIFTS, dry_run=True)

    assert dry.counts == {"created": 2, "invalid": 1}
    assert [(error["row"], error["field"]) for error in dry.errors] == [(3, "points_price")]
    assert not Gift.objects.exists()

    job = _run("catalog.gifts_import", GIFTS, dry_run=False)

    assert job.counts == dry.counts
    assert sorted(Gift.objects.values_list("reference", flat=True)) == ["G-1", "G-3"]

    _run("catalog.gifts_import", GIFTS, dry_run=False)

    assert Gift.objects.count() == 2


def test_voucher_codes_import_reports_bad_lines_and_adds_a_code_once(brand):
    gift = gift_make(codes=["OLD-1"])
    codes = "code\nNEW-1\nOLD-1\nNEW-2\nNEW-1\n" + "X" * 200 + "\n"

    dry = _run("catalog.codes_import", codes, dry_run=True, params={"gift_id": gift.pk})

    assert dry.counts == {"created": 2, "unchanged": 1, "invalid": 2}
    assert {(error["row"], error["field"]) for error in dry.errors} == {(5, "code"), (6, "code")}
    assert VoucherCode.objects.filter(gift=gift).count() == 1

    _run("catalog.codes_import", codes, dry_run=False, params={"gift_id": gift.pk})
    again = _run("catalog.codes_import", codes, dry_run=False, params={"gift_id": gift.pk})

    assert again.counts == {"unchanged": 3, "invalid": 2}
    assert sorted(VoucherCode.objects.filter(gift=gift).values_list("code", flat=True)) == [
        "NEW-1",
        "NEW-2",
        "OLD-1",
    ]
