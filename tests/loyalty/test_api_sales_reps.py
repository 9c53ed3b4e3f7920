"""REST API: a member's sales rep set by e-mail or username (audited, with the key), shown in the
member resource; the brand's sales reps listed with their number of members."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from loyalty.models import Member, MemberAudit
from tests.factories import member_make
from tests.support import error_of


@pytest.fixture
def reps(in_a):
    users = get_user_model().objects
    return {
        "rita": users.create_user(
            username="rita", email="Rita@alpha.example", is_staff=True, first_name="Rita"
        ),
        "sam": users.create_user(username="sam", email="sam@alpha.example", is_staff=True),
        "customer": users.create_user(username="cust@example.com", email="cust@example.com"),
        "left": users.create_user(
            username="left", email="left@alpha.example", is_staff=True, is_active=False
        ),
    }


def test_sales_rep_set_by_email_or_username_and_cleared(api_a, reps):
    response = api_a.put("/api/v1/members/R-1", {"first_name": "Ann", "sales_rep": "rita@alpha.example"})
    assert response.status_code == 201, response.content
    assert response.json()["sales_rep"] == "Rita@alpha.example"
    member = Member.objects.get(external_id="R-1")
    assert member.sales_rep == reps["rita"]
    audit = MemberAudit.objects.get(member=member)
    assert (audit.action, audit.by, audit.before, audit.after) == (
        "sales_rep",
        None,
        {"sales_rep": None},
        {"sales_rep": reps["rita"].pk},
    )
    assert "API key" in audit.reason and "ERP" in audit.reason  # the key that set it

    assert api_a.put("/api/v1/members/R-1", {"sales_rep": "sam"}).json()["sales_rep"] == "sam@alpha.example"
    assert api_a.get("/api/v1/members/R-1").json()["sales_rep"] == "sam@alpha.example"
    # The same rep again, or a body without `sales_rep`: no change, no audit row.
    api_a.put("/api/v1/members/R-1", {"sales_rep": "sam@alpha.example"})
    assert api_a.put("/api/v1/members/R-1", {"city": "Lyon"}).json()["sales_rep"] == "sam@alpha.example"
    assert MemberAudit.objects.filter(member=member).count() == 2

    assert api_a.put("/api/v1/members/R-1", {"sales_rep": None}).json()["sales_rep"] is None
    member.refresh_from_db()
    assert member.sales_rep is None
    assert MemberAudit.objects.filter(member=member).count() == 3


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("nobody@alpha.example", "no user"),
        ("cust@example.com", "not an active staff user"),  # a member's own login
        ("left", "not an active staff user"),
        ("", "blank"),
        (12, "no user '12'"),
        (["rita"], "valid string"),
        ("x" * 255, "254"),
    ],
)
def test_a_bad_sales_rep_is_a_400_naming_it_and_writes_nothing(api_a, reps, value, why):
    member_make("R-2", first_name="Before")
    error = error_of(api_a.put("/api/v1/members/R-2", {"first_name": "After", "sales_rep": value}), 400)
    assert error["field"] == "sales_rep"
    assert why in error["message"]
    error = error_of(api_a.put("/api/v1/members/R-new", {"sales_rep": value}), 400)
    assert error["field"] == "sales_rep"
    assert Member.objects.get(external_id="R-2").first_name == "Before"
    assert not Member.objects.filter(external_id="R-new").exists()
    assert not MemberAudit.objects.exists()


def test_two_users_with_one_email_need_the_username(api_a, reps):
    get_user_model().objects.create_user(username="rita2", email="rita@alpha.example", is_staff=True)
    error = error_of(api_a.put("/api/v1/members/R-3", {"sales_rep": "rita@alpha.example"}), 400)
    assert (error["field"], "give the username" in error["message"]) == ("sales_rep", True)
    assert api_a.put("/api/v1/members/R-3", {"sales_rep": "rita2"}).status_code == 201


def test_sales_reps_are_listed_with_their_number_of_members(api_a, reps):
    for external_id in ("P-1", "P-2"):
        api_a.put(f"/api/v1/members/{external_id}", {"sales_rep": "rita"})
    response = api_a.get("/api/v1/sales-reps")
    assert response.status_code == 200, response.content
    listed = {rep["username"]: rep for rep in response.json()}
    assert listed["rita"] == {"username": "rita", "email": "Rita@alpha.example", "name": "Rita", "members": 2}
    assert listed["sam"]["members"] == 0
    assert "cust@example.com" not in listed and "left" not in listed  # not staff, not active
    assert "admin@alpha.example" in listed  # the brand's admin is staff too
