"""The member site in a real browser: each brand on its own *.localhost host, sessions per brand."""

from django.db import connection

from tests.conftest import TEST_PASSWORD, brand_make


def test_staff_logs_in_on_their_brand_and_is_a_stranger_on_another(fresh_brand, site_server, page):
    other = brand_make(f"{fresh_brand.slug}-x")
    try:
        base = f"http://{fresh_brand.slug}.localhost:{site_server}"
        page.goto(base + "/")
        assert page.locator("h1").inner_text() == f"Welcome to {fresh_brand.name}"

        page.click("header >> text=Log in")
        page.fill("input[name=username]", f"admin@{fresh_brand.slug}.example")
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        assert page.locator(".whoami").inner_text() == f"admin@{fresh_brand.slug}.example"

        page.click("text=Backoffice")
        assert "Programme administration" in page.content()

        # Same browser, another brand's host: no session there.
        page.goto(f"http://{other.slug}.localhost:{site_server}/")
        assert page.locator("h1").inner_text() == f"Welcome to {other.name}"
        assert page.locator(".whoami").count() == 0
        assert page.locator("header >> text=Log in").is_visible()

        # Unknown host: the platform's 404 page.
        response = page.goto(f"http://nobody-here.localhost:{site_server}/")
        assert response.status == 404
        assert "No loyalty club lives at this address" in page.content()
    finally:
        connection.set_schema_to_public()
        other.delete(force_drop=True)
