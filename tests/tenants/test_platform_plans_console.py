"""The operator console's plans (README.md, "Platform plans"): plans created, edited and assigned
from the console (operator login, CSRF, French and English), each brand's usage shown against its
plan's limits, a brand over a limit marked for the operator and told on its backoffice's index."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from messaging.models import Message
from tenants.models import PlanOverage, PlatformPlan
from tenants.plans import brand_plan_assign, month_bounds, plan_create
from tenants.services import brand_usage_refresh
from tests.factories import member_make

PLAN = {
    "code": "starter",
    "name": "Starter",
    "members_limit": "500",
    "messages_per_month": "",
    "application_fee_percent": "2.5",
}


@pytest.fixture
def operator(db) -> Client:
    """The platform's operator, logged in to the console (the platform's own domain)."""
    user = get_user_model().objects.create_superuser(username="op", email="op@example.com", password="x")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def _page(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.content.decode()


def test_the_operator_creates_edits_and_assigns_a_plan(operator, brand_a):
    assert operator.post("/console/plans/", PLAN).status_code == 302
    plan = PlatformPlan.objects.get(code="starter")
    assert (plan.members_limit, plan.messages_per_month, plan.application_fee_percent) == (
        500,
        None,
        Decimal("2.50"),
    )
    page = _page(operator.get("/console/"))
    assert 'id="plan-starter"' in page and "2.50 %" in page

    form = _page(operator.get(f"/console/plans/{plan.pk}/"))
    assert 'value="starter"' in form and 'value="500"' in form
    edited = {**PLAN, "name": "Starter 2", "messages_per_month": "1000", "members_limit": ""}
    assert operator.post(f"/console/plans/{plan.pk}/", edited).status_code == 302
    plan.refresh_from_db()
    assert (plan.name, plan.members_limit, plan.messages_per_month) == ("Starter 2", None, 1000)

    assert operator.post(f"/console/brands/{brand_a.pk}/plan/", {"plan": plan.pk}).status_code == 302
    brand_a.refresh_from_db()
    assert brand_a.platform_plan == plan
    page = _page(operator.get("/console/"))
    assert f'<option value="{plan.pk}" selected>Starter 2</option>' in page
    assert operator.post(f"/console/brands/{brand_a.pk}/plan/", {"plan": ""}).status_code == 302
    brand_a.refresh_from_db()
    assert brand_a.platform_plan is None


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("application_fee_percent", "120", "between 0 and 100"),
        ("application_fee_percent", "-1", "between 0 and 100"),
        ("application_fee_percent", "abc", "Enter a number"),
        ("members_limit", "-5", "whole number"),
        ("members_limit", "many", "Enter a whole number"),
        ("code", "Bad Code", "lowercase letters"),
        ("name", "", "This field is required"),
    ],
)
def test_a_bad_plan_is_a_400_naming_the_field_and_writes_nothing(operator, field, value, says):
    page = _page(operator.post("/console/plans/", {**PLAN, field: value}), 400)
    error_list = page.split(f'id="id_{field}_error"', 1)
    assert len(error_list) == 2 and says in error_list[1].split("</ul>", 1)[0], page[-3000:]
    assert not PlatformPlan.objects.exists()


def test_a_bad_edit_is_a_400_and_changes_nothing(operator):
    plan = plan_create(code="pro", name="Pro", application_fee_percent=2)
    plan_create(code="starter", name="Starter")
    page = _page(operator.post(f"/console/plans/{plan.pk}/", {**PLAN, "code": "starter"}), 400)
    assert "already exists" in page
    page = _page(
        operator.post(
            f"/console/plans/{plan.pk}/", {**PLAN, "code": "pro", "application_fee_percent": "101"}
        ),
        400,
    )
    assert "between 0 and 100" in page
    plan.refresh_from_db()
    assert (plan.code, plan.name, plan.application_fee_percent) == ("pro", "Pro", Decimal("2.00"))
    assert operator.get("/console/plans/999999/").status_code == 404


def test_an_unknown_plan_or_brand_is_refused(operator, brand_a):
    assert operator.post(f"/console/brands/{brand_a.pk}/plan/", {"plan": "999999"}).status_code == 404
    assert operator.post(f"/console/brands/{brand_a.pk}/plan/", {"plan": "x"}).status_code == 400
    plan = plan_create(code="pro", name="Pro")
    assert operator.post("/console/brands/999999/plan/", {"plan": plan.pk}).status_code == 404
    brand_a.refresh_from_db()
    assert brand_a.platform_plan is None


def test_the_plan_pages_need_the_operator_and_a_csrf_token(db, brand_a):
    plan = plan_create(code="pro", name="Pro")
    anonymous = Client(HTTP_HOST="localhost")
    for path in ("/console/plans/", f"/console/plans/{plan.pk}/", f"/console/brands/{brand_a.pk}/plan/"):
        response = anonymous.post(path, {**PLAN, "plan": plan.pk})
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    user = get_user_model().objects.create_user(username="not-staff", password="x")
    strict = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.get("/console/").status_code == 302  # not the operator
    operator = get_user_model().objects.create_superuser(username="op", email="op@example.com", password="x")
    strict.force_login(operator)
    assert strict.post("/console/plans/", PLAN).status_code == 403
    assert strict.post(f"/console/brands/{brand_a.pk}/plan/", {"plan": plan.pk}).status_code == 403
    assert not PlatformPlan.objects.filter(code="starter").exists()
    brand_a.refresh_from_db()
    assert brand_a.platform_plan is None


def test_the_console_speaks_french(operator):
    plan_create(code="pro", name="Pro")
    page = _page(operator.get("/console/", HTTP_ACCEPT_LANGUAGE="fr"))
    for text in (
        "Formules",
        "Créer une formule",
        "Frais de plateforme",
        "Dépassements de formule",
        "aucune limite",
    ):
        assert text in page, text
    bad = _page(
        operator.post(
            "/console/plans/", {**PLAN, "application_fee_percent": "150"}, HTTP_ACCEPT_LANGUAGE="fr"
        ),
        400,
    )
    assert "entre 0 et 100" in bad


def test_usage_is_shown_against_the_limits_and_a_crossing_to_both(operator, brand_a, brand_b, staff_for):
    plan = plan_create(code="tiny", name="Tiny", members_limit=1, messages_per_month=10)
    with schema_context(brand_a.schema_name):
        members = [member_make(), member_make()]
        for channel in ("email", "email", "sms"):
            Message.objects.create(
                member=members[0],
                channel=channel,
                purpose="service",
                language="en",
                state="sent",
                sent_at=month_bounds(brand=brand_a)[0],
            )
        member_count = len(members)
    brand = brand_plan_assign(brand=brand_a, plan=plan)
    usage = brand_usage_refresh(brand=brand)
    brand_usage_refresh(brand=brand)
    page = _page(operator.get("/console/"))
    assert usage["members"] >= member_count
    assert '<tr id="brand-alpha" class="over-limit">' in page
    row = page.split('id="brand-alpha"', 1)[1].split("</tr>", 1)[0]
    assert "Tiny" in row and "Over the plan" in row
    usage_row = page.split('id="usage-alpha"', 1)[1].split("</tr>", 1)[0]
    assert f'<td class="usage-members over">⚠ {usage["members"]} / 1</td>' in usage_row
    assert '<td class="usage-messages">3 / 10<br><small>E-mail 2, SMS 1</small></td>' in usage_row
    assert '<tr id="usage-beta">' in page and '<tr id="brand-beta">' in page
    beta_row = page.split('id="usage-beta"', 1)[1].split("</tr>", 1)[0]
    assert "⚠" not in beta_row and "no limit" in beta_row
    overage = PlanOverage.objects.get(brand=brand_a)
    assert f'id="overage-{overage.pk}"' in page

    notice = _page(staff_for(brand_a).get("/backoffice/"))
    assert 'id="plan-notice"' in notice
    assert f"Members: {usage['members']} for 1 in your plan." in notice
    assert "your members are still created" in notice
    connection.set_schema_to_public()
