"""Tenant isolation of the platform plans (README.md, "Platform plans"): the console lives on the
platform's domain only (a brand's host answers 404 to its pages), a brand's staff can neither see
nor change plans or other brands' usage, and brand A's over-limit notice never shows on B."""

from __future__ import annotations

from django.test import Client

from tenants.models import PlanOverage
from tenants.plans import brand_plan_assign, month_bounds, plan_create
from tests.conftest import TEST_PASSWORD


def _overage(brand, *, limit: str, used: int, allowed: int) -> PlanOverage:
    return PlanOverage.objects.create(
        brand=brand, month=month_bounds(brand=brand)[0].date(), limit=limit, used=used, allowed=allowed
    )


def test_a_brand_s_host_has_no_console_and_its_staff_change_no_plan(db, brand_a, brand_b, staff_for):
    plan = plan_create(code="pro", name="Pro", members_limit=10)
    brand_plan_assign(brand=brand_b, plan=plan)
    staff = staff_for(brand_a)
    form = {"code": "pro", "name": "Hacked", "application_fee_percent": "99", "plan": ""}
    for path in (
        "/console/",
        "/console/plans/",
        f"/console/plans/{plan.pk}/",
        f"/console/brands/{brand_a.pk}/plan/",
        f"/console/brands/{brand_b.pk}/plan/",
    ):
        assert staff.get(path).status_code == 404, path
        assert staff.post(path, form).status_code == 404, path
    # Nor through the backoffice: the platform's tables are not a brand's.
    for model in ("platformplan", "planoverage", "brand"):
        assert staff.get(f"/backoffice/tenants/{model}/").status_code == 404, model
    plan.refresh_from_db()
    brand_b.refresh_from_db()
    assert (plan.name, plan.application_fee_percent, brand_b.platform_plan_id) == ("Pro", 0, plan.pk)


def test_a_brand_s_staff_cannot_log_in_to_the_console(db, brand_a):
    platform = Client(HTTP_HOST="localhost")
    login = {"username": f"admin@{brand_a.slug}.example", "password": TEST_PASSWORD}
    assert platform.post("/login/", login).status_code == 200  # no such account on the platform
    response = platform.get("/console/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def _notice(client) -> str:
    """The over-limit notice of the backoffice's index page ("" when there is none)."""
    response = client.get("/backoffice/")
    assert response.status_code == 200
    page = response.content.decode()
    return page.split('id="plan-notice"', 1)[1].split("</div>", 1)[0] if 'id="plan-notice"' in page else ""


def test_the_notice_of_brand_a_never_shows_on_b(db, brand_a, brand_b, staff_for):
    staff_a, staff_b = staff_for(brand_a), staff_for(brand_b)
    _overage(brand_a, limit="members", used=12345, allowed=100)
    assert "Members: 12345 for 100 in your plan." in _notice(staff_a)
    assert _notice(staff_b) == ""

    _overage(brand_b, limit="messages", used=777, allowed=500)
    notice_a, notice_b = _notice(staff_a), _notice(staff_b)
    assert "Messages sent this month: 777 for 500 in your plan." in notice_b and "12345" not in notice_b
    assert "777" not in notice_a and "Messages sent" not in notice_a
