"""The dashboard across brands: brand A's figures, live or rebuilt, count nothing of brand B's, and
brand A's staff session opens no dashboard or CSV on brand B's host."""

from __future__ import annotations

from django.db import connection
from django.db.models import Sum

from backoffice.dashboard_selectors import Period, dashboard_figures
from backoffice.dashboard_services import dashboard_rebuild
from backoffice.models import DashboardState
from loyalty.models import Member
from tests.conftest import host_of
from tests.factories import member_make


def test_brand_as_dashboard_counts_nothing_of_brand_b(db, brand_a, brand_b, staff_for):
    connection.set_tenant(brand_b)
    for points in (1_000, 2_000):
        member_make(points=points)
    dashboard_rebuild()
    b_outstanding = dashboard_figures(period=Period.last_months()).outstanding
    connection.set_tenant(brand_a)
    member_make(points=7)
    a_members = Member.objects.count()
    a_balances = Member.objects.aggregate(total=Sum("balance"))["total"]
    for rebuilt in (False, True):
        if rebuilt:
            dashboard_rebuild()
        figures = dashboard_figures(period=Period.last_months())
        assert (figures.members_total, figures.outstanding) == (a_members, a_balances)
    connection.set_tenant(brand_b)
    assert DashboardState.objects.count() == 1
    assert dashboard_figures(period=Period.last_months()).outstanding == b_outstanding
    connection.set_schema_to_public()

    staff_of_a = staff_for(brand_a)
    page = staff_of_a.get("/backoffice/dashboard/points.csv")
    assert page.status_code == 200
    staff_of_a.defaults["HTTP_HOST"] = host_of(brand_b)  # A's session cookie sent to B's host
    for path in ("/backoffice/dashboard/", "/backoffice/dashboard/liability.csv"):
        response = staff_of_a.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/backoffice/login/"), path
