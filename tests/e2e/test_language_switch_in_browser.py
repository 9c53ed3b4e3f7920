"""The language switcher in a real browser: a French site for a browser asking for a language the
site does not have, then English once chosen, on a phone's width."""

from django.db import connection

from loyalty.services.programme import programme_settings_update
from tests.conftest import host_of


def test_a_visitor_switches_the_french_site_to_english(live_db, brand_a, site_server, page):
    connection.set_tenant(brand_a)
    programme_settings_update(data={"site_languages": ["fr", "en"], "default_language": "fr"})
    try:
        page.set_viewport_size({"width": 375, "height": 800})
        page.set_extra_http_headers({"Accept-Language": "de"})
        page.goto(f"http://{host_of(brand_a)}:{site_server}/accounts/login/")
        assert page.locator("h1").inner_text() == f"Connexion à {brand_a.name}"
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.select_option("#language-switch", "en")
        page.click("form.language-switch button")
        page.wait_for_url("**/accounts/login/")
        assert page.locator("h1").inner_text() == f"Log in to {brand_a.name}"
        assert page.locator("#language-switch").input_value() == "en"
    finally:
        connection.set_tenant(brand_a)
        programme_settings_update(data={"site_languages": ["en", "fr"], "default_language": "en"})
