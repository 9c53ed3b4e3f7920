"""The audit trail's list (`backoffice:audit`): filters by who, model, action and dates, a search,
each row linking to its object, a CSV of what the filters show; only with `core.view_auditentry`."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from loyalty.models import Tier
from tests.conftest import TEST_PASSWORD

LIST = "/backoffice/core/auditentry/"


@pytest.fixture
def entries(staff_a):
    """Three entries: a tier created by Ana today, changed by the ERP's key yesterday, a rule
    deleted by Ana ten days ago."""
    tier = Tier.objects.create(code="gold", name="Gold", threshold=1000)
    tier_type = ContentType.objects.get_for_model(Tier)
    now = timezone.now()
    common = {"content_type": tier_type, "object_id": str(tier.pk), "object_repr": "Gold"}
    made = [
        AuditEntry(
            at=now, actor_label="ana", via="backoffice", action="create", after={"name": "Gold"}, **common
        ),
        AuditEntry(
            at=now - timedelta(days=1),
            actor_label="API key ERP (ab12cd34)",
            via="api",
            ip="198.51.100.7",
            action="change",
            before={"threshold": "900.00"},
            after={"threshold": "1000.00"},
            **common,
        ),
        AuditEntry(
            at=now - timedelta(days=10),
            actor_label="ana",
            via="backoffice",
            action="delete",
            content_type=ContentType.objects.get(app_label="loyalty", model="earningrule"),
            object_id="77",
            object_repr="Double points",
            before={"name": "Double points"},
            reason='=HYPERLINK("x")',
        ),
    ]
    AuditEntry.objects.bulk_create(made)
    return {"tier": tier, "tier_type": tier_type, "now": now}


def _shown(client, query: str = "") -> list[str]:
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    return [entry.object_repr + ":" + entry.action for entry in response.context["cl"].result_list]


def test_backoffice_audit_leads_to_the_list_with_its_filters(staff_a):
    assert reverse("backoffice:audit") == "/backoffice/audit/"
    response = staff_a.get("/backoffice/audit/?action=change")
    assert (response.status_code, response["Location"]) == (302, f"{LIST}?action=change")


def test_every_entry_newest_first_each_linking_to_its_object(staff_a, entries):
    assert _shown(staff_a) == ["Gold:create", "Gold:change", "Double points:delete"]
    page = staff_a.get(LIST).content.decode()
    assert reverse("admin:loyalty_tier_change", args=[entries["tier"].pk]) in page
    assert "198.51.100.7" in page and "900.00" in page and "1000.00" in page
    # A deleted object has no page to link to.
    assert reverse("admin:loyalty_earningrule_change", args=[77]) not in page


def test_filters_by_who_model_action_and_dates(staff_a, entries):
    assert _shown(staff_a, "actor=ana") == ["Gold:create", "Double points:delete"]
    assert _shown(staff_a, f"model={entries['tier_type'].pk}") == ["Gold:create", "Gold:change"]
    assert _shown(staff_a, "action=change") == ["Gold:change"]
    assert _shown(staff_a, "via=api") == ["Gold:change"]
    today = timezone.localdate()
    two_days_ago = (today - timedelta(days=2)).isoformat()
    assert _shown(staff_a, f"at_from={two_days_ago}&at_to={today.isoformat()}") == [
        "Gold:create",
        "Gold:change",
    ]
    assert _shown(staff_a, f"at_to={two_days_ago}") == ["Double points:delete"]
    assert _shown(staff_a, "q=Double") == ["Double points:delete"]


def test_the_csv_holds_what_the_filters_show(staff_a, entries):
    response = staff_a.get(reverse("admin:core_auditentry_export") + "?actor=ana")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "at",
        "actor",
        "via",
        "ip",
        "action",
        "model",
        "object_id",
        "object",
        "before",
        "after",
        "reason",
    ]
    assert [(row[1], row[4], row[5], row[7]) for row in rows[1:]] == [
        ("ana", "create", "loyalty.tier", "Gold"),
        ("ana", "delete", "loyalty.earningrule", "Double points"),
    ]
    assert rows[2][8] == '{"name": "Double points"}'
    assert rows[2][10] == '\'=HYPERLINK("x")'  # a formula is not run by a spreadsheet


def test_the_list_page_shows_a_csv_button_keeping_the_filters(staff_a, entries):
    page = staff_a.get(f"{LIST}?action=change").content.decode()
    assert reverse("admin:core_auditentry_export") + "?action=change" in page


def test_an_entry_is_read_only_and_shows_its_values_in_full(staff_a, entries):
    entry = AuditEntry.objects.get(action="change")
    page = staff_a.get(reverse("admin:core_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert "900.00" in page.content.decode()
    assert staff_a.post(reverse("admin:core_auditentry_change", args=[entry.pk]), {}).status_code == 403
    assert staff_a.get(reverse("admin:core_auditentry_delete", args=[entry.pk])).status_code == 403
    assert staff_a.get(reverse("admin:core_auditentry_add")).status_code == 403


def test_staff_without_the_permission_see_neither_list_nor_csv(db, brand_a, client_for, entries):
    user = get_user_model().objects.create_user(
        username="clerk", email="clerk@example.com", password=TEST_PASSWORD
    )
    user.is_staff = True
    user.save()
    client = client_for(brand_a)
    assert (
        client.post("/accounts/login/", {"username": "clerk", "password": TEST_PASSWORD}).status_code == 302
    )
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("admin:core_auditentry_export")).status_code == 403
