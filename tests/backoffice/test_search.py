"""The backoffice's member search (`loyalty.selectors.search.member_search`, `backoffice:search`): by
the start of a name, e-mail, phone, external id or company, case-insensitive; a sales rep finds only
their portfolio; each search uses its index (EXPLAIN), so a million members answer fast
(bench/member_search.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from loyalty.search_keys import SEARCH_KEYS
from loyalty.selectors.search import member_search
from tests.conftest import TEST_PASSWORD
from tests.factories import member_make, members_planned_make, staff_make


@pytest.fixture
def members(db, brand_a):
    connection.set_tenant(brand_a)
    return {
        "jean": member_make(
            "CRM-0042", first_name="Jean", last_name="Dupont", email="jean.dupont@mail.example"
        ),
        "marie": member_make("CRM-0043", first_name="Marie", last_name="Durand", phone="+33612345678"),
        "shop": member_make(
            "SHOP-9", kind="reseller", company_name="Tabac du Port", email="contact@tabac.example"
        ),
        "other": member_make("X-1", first_name="Zoé", last_name="Martin", email="zoe@other.example"),
    }


def _found(user, query: str) -> set[str]:
    return {member.external_id for member in member_search(user=user, query=query)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dup", {"CRM-0042"}),  # last name
        ("DU", {"CRM-0042", "CRM-0043"}),  # any case
        ("jean d", {"CRM-0042"}),  # first and last name
        ("  Jean   Dupont ", {"CRM-0042"}),  # spaces squeezed
        ("jean.dupont@", {"CRM-0042"}),  # e-mail
        ("crm-004", {"CRM-0042", "CRM-0043"}),  # external id
        ("tabac", {"SHOP-9"}),  # company
        ("+33 6 12", {"CRM-0043"}),  # phone as typed
        ("0033612", {"CRM-0043"}),
        ("upont", set()),  # a prefix, not anywhere in the text
        ("%", set()),  # LIKE's wildcards are plain characters
        ("_", set()),
        ("", set()),
    ],
)
def test_search_by_the_start_of_a_name_email_phone_id_or_company(members, query, expected):
    owner = staff_make("owner")
    assert _found(owner, query) == expected


def test_a_sales_rep_finds_only_their_portfolio(members):
    from loyalty.services.members import member_sales_rep_set

    rep = staff_make("sales_rep")
    member_sales_rep_set(member=members["jean"], sales_rep=rep, by=staff_make("owner"))
    assert _found(rep, "d") == {"CRM-0042"}
    assert _found(rep, "marie") == set()
    assert _found(staff_make("support"), "d") == {"CRM-0042", "CRM-0043"}


def test_the_limit_is_kept_and_results_come_by_name(members):
    owner = staff_make("owner")
    for number in range(30):
        member_make(f"L-{number:02}", first_name="Luc", last_name=f"Lenoir{29 - number:02}")
    found = member_search(user=owner, query="len", limit=20)
    assert [member.last_name for member in found] == [f"Lenoir{n:02}" for n in range(20)]
    assert len(member_search(user=owner, query="l", limit=1000)) == 30  # asked 1,000: at most 100


@pytest.mark.parametrize("key", sorted(SEARCH_KEYS))
def test_each_key_is_read_from_its_index(members, key):
    """The query of each key, as the selector sends it, plans an index scan on its own index."""
    from loyalty.models import Member
    from loyalty.selectors.search import _matches

    members_planned_make()
    with connection.cursor() as cursor:
        query = _matches(key, "+3" if key == "phone" else "du", Member.objects.all(), 20)
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"member_search_{key}" in plan, plan


def _staff_client(client_for, brand, user):
    client = client_for(brand)
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def test_the_search_page_lists_the_members_linked_to_their_page(members, brand_a, client_for):
    client = _staff_client(client_for, brand_a, staff_make("support"))
    page = client.get(reverse("backoffice:search"), {"q": "Dupont"})
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("admin:loyalty_member_change", args=[members["jean"].pk]) in html
    assert "jean.dupont@mail.example" in html
    assert "Durand" not in html
    assert 'name="q" value="Dupont"' in html  # the header's box keeps the query


def test_the_search_page_without_a_query_lists_nobody(members, brand_a, client_for):
    client = _staff_client(client_for, brand_a, staff_make("support"))
    page = client.get(reverse("backoffice:search"))
    assert page.status_code == 200
    assert "CRM-0042" not in page.content.decode()


def test_the_search_needs_a_staff_login_and_the_permission_to_view_members(members, brand_a, client_for):
    anonymous = client_for(brand_a).get(reverse("backoffice:search"), {"q": "dup"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    # Staff without a role (no profile): the role map grants nothing.
    user = get_user_model().objects.create_user(
        username="norole@staff.example", password=TEST_PASSWORD, is_staff=True
    )
    client = _staff_client(client_for, brand_a, user)
    assert client.get(reverse("backoffice:search"), {"q": "dup"}).status_code == 403
