"""The member search across brands: brand A's staff never find brand B's members, on A's host or
by sending their session to B's host (it is not B's: the login page answers)."""

from __future__ import annotations

from django.db import connection
from django.test import Client

from loyalty.selectors.search import member_search
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import member_make, staff_make


def test_brand_as_staff_never_find_brand_bs_members(db, brand_a, brand_b):
    connection.set_tenant(brand_b)
    member_make("B-ISOLDE", first_name="Isolde", last_name="Brandbee", email="isolde@b.example")
    connection.set_tenant(brand_a)
    member_make("A-ISOBEL", first_name="Isobel", last_name="Alphan", email="isobel@a.example")
    owner = staff_make("owner", username="owner-a@staff.example")
    assert [m.external_id for m in member_search(user=owner, query="iso")] == ["A-ISOBEL"]
    connection.set_schema_to_public()

    on_a = Client(HTTP_HOST=host_of(brand_a))
    assert (
        on_a.post("/backoffice/login/", {"username": owner.username, "password": TEST_PASSWORD}).status_code
        == 302
    )
    page = on_a.get("/backoffice/search/", {"q": "iso"}).content.decode()
    assert "A-ISOBEL" in page and "B-ISOLDE" not in page and "Brandbee" not in page
    # The same session sent to B's host is no session there.
    on_b = Client(HTTP_HOST=host_of(brand_b))
    on_b.cookies = on_a.cookies
    answer = on_b.get("/backoffice/search/", {"q": "iso"})
    assert answer.status_code == 302 and answer["Location"].startswith("/backoffice/login/")
