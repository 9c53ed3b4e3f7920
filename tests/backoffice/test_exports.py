"""Exports as jobs (loyalty.exports, catalog.exports): started from the backoffice, run by a real
Celery worker, streamed into a CSV whose content equals the database; the portfolio rule applies."""

from __future__ import annotations

import csv
import io
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from catalog.models import OrderLine
from catalog.services import RedeemItem, ShippingAddress, order_place
from core.models import AuditEntry, Job
from loyalty.models import LedgerEntry, Member
from tenants.selectors import brand_timezone
from tests.catalog.factories import ADDRESS, gift_make
from tests.conftest import TEST_PASSWORD, brand_make
from tests.factories import credit_make, debit_make, member_make

pytestmark = pytest.mark.usefixtures("celery_worker")


def _export(client, name: str) -> Job:
    response = client.post(f"/backoffice/jobs/export/{name}/")
    assert response.status_code == 302, response.status_code
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    deadline = time.monotonic() + 30
    while (job := Job.objects.get(pk=job_id)).state not in (Job.State.DONE, Job.State.FAILED):
        assert time.monotonic() < deadline, job.state
        time.sleep(0.05)
    assert job.state == Job.State.DONE, job.message
    return job


def _rows(client, job: Job) -> list[dict[str, str]]:
    response = client.get(f"/backoffice/jobs/{job.pk}/result/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _logged_in(client_for, brand, user):
    client = client_for(brand)
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


def _staff(username: str, *permissions: Permission):
    user = get_user_model().objects.create_user(username=username, password=TEST_PASSWORD, is_staff=True)
    user.user_permissions.add(*permissions)
    return user


def _when(value) -> str:
    return value.astimezone(brand_timezone()).isoformat() if value else ""


@pytest.fixture(scope="module")
def module_brand(django_db_setup, django_db_blocker):
    """One committed brand with three members for the module's exports, dropped after it."""
    with django_db_blocker.unblock():
        made = brand_make(f"t-{uuid.uuid4().hex[:10]}")
        connection.set_tenant(made)
        _people()
        connection.set_schema_to_public()
    yield made
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        made.delete(force_drop=True)


@pytest.fixture
def brand(module_brand, live_db):
    connection.set_tenant(module_brand)
    return module_brand


def _people():
    rep = get_user_model().objects.create_user(
        username="rep@staff.example", email="rep@staff.example", password=TEST_PASSWORD, is_staff=True
    )
    member_make("E-1", first_name="Zoé", last_name='O"Neil, Jr', email="zoe@example.com", points=120)
    second = member_make(
        "E-2",
        kind="reseller",
        company_name="Caves & Co\nParis",
        siret="73282932000074",
        phone="+33611112222",
        city="Orléans",
        points=40,
    )
    member_make("E-3", first_name="=HYPERLINK(1)", points=0)
    Member.objects.filter(pk=second.pk).update(sales_rep=rep)


def test_the_members_export_equals_the_database(brand, staff_for):
    client = staff_for(brand)
    job = _export(client, "members")
    rows = _rows(client, job)
    members = list(Member.objects.select_related("sales_rep", "tier").order_by("pk"))
    assert (job.total, job.done, job.counts) == (3, 3, {"exported": 3})
    assert job.result_name.startswith("members-") and job.result_name.endswith(".csv")
    audit = AuditEntry.objects.get(object_id=str(job.pk), content_type__model="job")
    assert (audit.action, audit.actor.username, audit.reason) == (
        "action",
        f"admin@{brand.slug}.example",
        "export started",
    )
    assert len(rows) == len(members)
    for row, member in zip(rows, members, strict=True):
        assert row["external_id"] == member.external_id
        assert row["kind"] == member.kind
        assert row["company_name"] == member.company_name
        assert row["siret"] == member.siret
        assert row["last_name"] == member.last_name
        assert row["email"] == member.email
        assert row["phone"] == member.phone
        assert row["city"] == member.city
        assert row["balance"] == str(member.balance)
        assert row["sales_rep"] == (member.sales_rep.email if member.sales_rep else "")
        assert row["joined_at"] == _when(member.joined_at)
        assert row["is_vip"] == ("true" if member.is_vip else "false")
        if member.external_id == "E-3":  # a formula is never run by a spreadsheet
            assert row["first_name"] == "'" + member.first_name
        else:
            assert row["first_name"] == member.first_name


def test_the_ledger_export_equals_the_database(brand, staff_for):
    debit_make(Member.objects.get(external_id="E-1"), 20)
    credit_make(Member.objects.get(external_id="E-2"), 5)
    client = staff_for(brand)
    rows = _rows(client, _export(client, "ledger"))
    entries = list(LedgerEntry.objects.select_related("member").order_by("pk"))
    assert [
        (r["id"], r["member_external_id"], r["kind"], r["points"], r["balance_after"], r["created_at"])
        for r in rows
    ] == [
        (str(e.pk), e.member.external_id, e.kind, str(e.points), str(e.balance_after), _when(e.created_at))
        for e in entries
    ]
    assert sum(int(r["points"]) for r in rows) == sum(m.balance for m in Member.objects.all())


def test_the_orders_export_has_a_row_per_line_equal_to_the_database(brand, staff_for):
    first = Member.objects.get(external_id="E-1")
    cup, mug = (
        gift_make(name="Cup", points_price=30, stock=5),
        gift_make(name="Mug", points_price=20, stock=5),
    )
    order, _ = order_place(
        member_id=first.pk,
        items=[RedeemItem(gift_id=cup.pk, quantity=2), RedeemItem(gift_id=mug.pk, quantity=1)],
        shipping=ShippingAddress(**ADDRESS),
        idempotency_key="k1",
        actor="member",
    )
    client = staff_for(brand)
    rows = _rows(client, _export(client, "orders"))
    lines = list(OrderLine.objects.select_related("order__member").order_by("order_id", "id"))
    assert len(rows) == len(lines)
    rows = [row for row in rows if row["order_id"] == str(order.pk)]
    lines = [line for line in lines if line.order_id == order.pk]
    assert len(rows) == len(lines) == 2
    for row, line in zip(rows, lines, strict=True):
        assert row["order_id"] == str(order.pk)
        assert row["member_external_id"] == "E-1"
        assert (row["gift_reference"], row["gift_name"]) == (line.gift_reference, line.gift_name)
        assert (row["quantity"], row["points_total"]) == (str(line.quantity), str(line.points_total))
        assert row["order_total_points"] == str(order.total_points) == "80"
        assert (row["ship_name"], row["ship_city"]) == (ADDRESS["name"], ADDRESS["city"])
        assert row["placed_at"] == _when(order.placed_at)


def test_without_view_every_member_the_export_holds_the_portfolio_and_is_theirs_alone(
    brand, staff_for, client_for
):
    rep = get_user_model().objects.get(username="rep@staff.example")
    member_type = ContentType.objects.get_for_model(Member)
    export, _ = Permission.objects.get_or_create(
        codename="export_members", content_type=member_type, defaults={"name": "Can export members"}
    )
    rep.user_permissions.add(export, Permission.objects.get(codename="view_job"))
    client = client_for(brand)
    assert (
        client.post("/accounts/login/", {"username": rep.username, "password": TEST_PASSWORD}).status_code
        == 302
    )
    job = _export(client, "members")
    assert [row["external_id"] for row in _rows(client, job)] == ["E-2"]
    assert job.params == {"visible_to": rep.pk}
    # Another staff user with the same permissions never sees it, nor its file.
    other = get_user_model().objects.create_user(
        username="other@staff.example", password=TEST_PASSWORD, is_staff=True
    )
    other.user_permissions.add(export, Permission.objects.get(codename="view_job"))
    client_other = client_for(brand)
    assert (
        client_other.post(
            "/accounts/login/", {"username": other.username, "password": TEST_PASSWORD}
        ).status_code
        == 302
    )
    assert client_other.get(f"/backoffice/jobs/{job.pk}/").status_code == 404
    assert client_other.get(f"/backoffice/jobs/{job.pk}/result/").status_code == 404
    assert f"/backoffice/jobs/{job.pk}/" not in client_other.get("/backoffice/jobs/").content.decode()
    # The brand's admin (every member) does.
    assert staff_for(brand).get(f"/backoffice/jobs/{job.pk}/result/").status_code == 200


def test_an_export_needs_its_permission(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    user = _staff("support@staff.example", Permission.objects.get(codename="view_job"))
    client = _logged_in(client_for, brand_a, user)
    for name in ("members", "ledger", "orders"):
        assert client.post(f"/backoffice/jobs/export/{name}/").status_code == 403
    assert client.post("/backoffice/jobs/export/everything/").status_code == 404
    assert client.get("/backoffice/jobs/export/members/").status_code == 405
    assert not Job.objects.exists()
