"""Languages (README.md, Languages): the site speaks the brand's languages, the member's own first;
the switcher; the backoffice in the staff member's language; the API in English; dates, numbers
and money per language in the brand's timezone; French complete and compiled by `make` without
GNU gettext."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import translation

from core import formats
from core.errors import InvalidInput
from loyalty.models import Member, ProgrammeSettings
from loyalty.selectors.languages import member_language, member_translation
from loyalty.services.programme import programme_settings_update
from tests.conftest import host_of
from tests.factories import member_make
from tests.support import error_of

ROOT = Path(__file__).resolve().parents[2]
FRENCH_PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
NNBSP, NBSP = "\u202f", "\xa0"  # CLDR's French group separator, and the space before "€"


def _messages_module():
    """platform/messages.py (a script: `platform` is also the standard library's module)."""
    spec = importlib.util.spec_from_file_location("loyalty_messages", ROOT / "platform" / "messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _site(offered: list[str], default: str) -> None:
    programme_settings_update(data={"site_languages": offered, "default_language": default})


def _client(**headers) -> Client:
    return Client(HTTP_HOST=host_of(connection.tenant), **headers)


def _member_client(language: str, **headers) -> tuple[Member, Client]:
    member = member_make(login=True, language=language, points=1250)
    client = _client(**headers)
    client.force_login(member.user)
    return member, client


def _html(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:300])
    return response.content.decode()


# --- which language a page is served in ------------------------------------------------------------


def test_a_site_whose_default_is_french_shows_the_gift_list_in_french(in_a):
    _site(["fr", "en"], "fr")
    _member, client = _member_client("de")  # a language the site does not offer
    response = client.get("/gifts/")
    html = _html(response)
    assert response["Content-Language"] == "fr"
    assert "<h1>Cadeaux</h1>" in html and f"Vous avez <strong>1{NNBSP}250</strong> points à dépenser" in html
    assert "Accept-Language" in response["Vary"]


def test_an_anonymous_visitor_gets_the_default_then_their_browser_language(in_a):
    _site(["fr", "en"], "fr")
    html = _html(_client().get("/accounts/login/"))
    assert f"<h1>Connexion à {connection.tenant.name}</h1>" in html and "Mot de passe oublié ?" in html
    english = _client(HTTP_ACCEPT_LANGUAGE="de, en-GB;q=0.8, fr;q=0.5").get("/accounts/login/")
    assert english["Content-Language"] == "en"


def test_a_french_member_reads_why_a_gift_is_refused_in_french(in_a):
    from catalog.selectors import gift_offer_refusal
    from tests.catalog.factories import gift_make

    gift = gift_make(name="Vélo", points_price=10, vip_only=True)
    member = member_make(language="fr")
    with member_translation(member=member):
        assert gift_offer_refusal(gift=gift, member=member).message == "« Vélo » est réservé aux membres VIP"
    assert gift_offer_refusal(gift=gift, member=member).message == "'Vélo' is reserved for VIP members"


def test_the_members_language_wins_over_the_browsers(in_a):
    _site(["fr", "en"], "fr")
    _member, client = _member_client("en", HTTP_ACCEPT_LANGUAGE="fr")
    html = _html(client.get("/gifts/"))
    assert "<h1>Gifts</h1>" in html and "You have <strong>1,250</strong> points to spend" in html


def test_a_language_the_brand_does_not_offer_is_never_served(in_a):
    _site(["en"], "en")
    client = _client(HTTP_ACCEPT_LANGUAGE="fr")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert client.get("/accounts/login/")["Content-Language"] == "en"
    _member, member_client = _member_client("fr", HTTP_ACCEPT_LANGUAGE="fr")
    assert "<h1>Gifts</h1>" in _html(member_client.get("/gifts/"))
    refused = member_client.post("/i18n/setlang/", {"language": "fr", "next": "/gifts/"})
    assert refused.status_code == 400 and b"language" in refused.content
    assert settings.LANGUAGE_COOKIE_NAME not in refused.cookies


# --- the switcher ----------------------------------------------------------------------------------


def test_the_switcher_offers_the_sites_languages_only(in_a):
    _site(["fr", "en"], "en")
    _member, client = _member_client("en")
    html = _html(client.get("/gifts/"))
    assert 'action="/i18n/setlang/"' in html
    assert '<option value="fr" lang="fr">français</option>' in html
    assert '<option value="en" lang="en" selected>English</option>' in html
    _site(["en"], "en")
    assert 'action="/i18n/setlang/"' not in _html(client.get("/gifts/"))


def test_switching_stores_a_members_choice_and_serves_it(in_a):
    _site(["fr", "en"], "en")
    member, client = _member_client("en", HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/gifts/"})
    assert response.status_code == 302 and response["Location"] == "/gifts/"
    member.refresh_from_db()
    assert member.language == "fr"
    assert "<h1>Cadeaux</h1>" in _html(client.get("/gifts/"))


def test_switching_as_a_visitor_sets_the_cookie_and_refuses_another_host(in_a):
    _site(["fr", "en"], "en")
    client = _client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"  # Django's safe redirect
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert client.get("/accounts/login/")["Content-Language"] == "fr"
    assert client.get("/i18n/setlang/").status_code == 405


def test_the_backoffice_speaks_the_staff_members_choice(staff_a):
    _site(["en"], "en")  # the site's languages do not bind staff
    html = _html(staff_a.get("/backoffice/"))
    assert "Programme administration" in html and 'name="language" value="fr" lang="fr"' in html
    response = staff_a.post("/i18n/setlang/", {"language": "fr", "next": "/backoffice/"})
    assert response.status_code == 302
    html = _html(staff_a.get("/backoffice/"))
    assert "Administration du programme" in html and "Voir le site" in html  # ours and Django's


def test_the_pages_answered_before_the_site_speak_the_visitors_language(in_a):
    from tenants.models import Brand
    from tenants.routing import routing_token_renew

    _site(["fr", "en"], "fr")
    Brand.objects.filter(pk=in_a.pk).update(status=Brand.Status.SUSPENDED)
    routing_token_renew()
    suspended = _html(Client(HTTP_HOST=host_of(in_a)).get("/accounts/login/"), 403)
    assert "est temporairement indisponible" in suspended
    unknown = Client(HTTP_HOST="nobody.example", HTTP_ACCEPT_LANGUAGE="fr").get("/")
    assert "Aucun club de fidélité n'habite à cette adresse" in _html(unknown, 404)


def test_the_api_answers_in_english_whatever_the_browser_says(api_a, in_a):
    _site(["fr", "en"], "fr")
    response = api_a.get("/api/v1/members/NOBODY", headers={"Accept-Language": "fr"})
    assert response["Content-Language"] == "en"
    assert "NOBODY" in error_of(response, 404)["message"]


# --- the member's language for what is sent to them ------------------------------------------------


def test_member_language_is_theirs_when_offered_else_the_default(in_a):
    _site(["fr", "en"], "fr")
    assert member_language(member=member_make(language="en")) == "en"
    assert member_language(member=member_make(language="de")) == "fr"
    with member_translation(member=member_make(language="fr")) as language:
        assert language == "fr" and translation.get_language() == "fr"
        assert translation.gettext("My orders") == "Mes commandes"
        assert formats.points_format(1250) == f"1{NNBSP}250 points"


def test_a_member_created_without_a_language_speaks_the_sites_default(api_a, in_a):
    _site(["fr", "en"], "fr")
    assert api_a.put("/api/v1/members/NEW-FR", {"first_name": "Zoé"}).json()["language"] == "fr"
    assert member_make(language="en").language == "en"


# --- the settings: backoffice service and API ------------------------------------------------------


def test_the_default_must_be_one_of_the_sites_languages(in_a):
    before = ProgrammeSettings.objects.values_list("site_languages", "default_language").get()
    with pytest.raises(InvalidInput) as refused:
        _site(["en"], "fr")
    assert set(refused.value.errors) == {"default_language"}
    with pytest.raises(InvalidInput) as refused:
        _site([], "en")
    assert set(refused.value.errors) == {"site_languages"}
    assert ProgrammeSettings.objects.values_list("site_languages", "default_language").get() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"site_languages": ["de"]}, "site_languages[0]"),
        ({"site_languages": "fr"}, "site_languages"),
        ({"default_language": "de"}, "default_language"),
        ({"site_languages": ["en"], "default_language": "fr"}, "default_language"),
    ],
)
def test_the_api_refuses_bad_languages_and_writes_nothing(api_a, body, field):
    before = api_a.get("/api/v1/programme").json()
    assert error_of(api_a.send("patch", "/api/v1/programme", body), 400)["field"] == field
    assert api_a.get("/api/v1/programme").json() == before


def test_the_api_sets_the_sites_languages(api_a, in_a):
    response = api_a.send(
        "patch", "/api/v1/programme", {"site_languages": ["fr", "fr"], "default_language": "fr"}
    )
    assert response.status_code == 200, response.content
    assert (response.json()["site_languages"], response.json()["default_language"]) == (["fr"], "fr")
    assert _client().get("/accounts/login/")["Content-Language"] == "fr"


# --- formats ---------------------------------------------------------------------------------------


def test_numbers_points_and_money_per_language():
    with translation.override("fr"):
        assert formats.points_format(1250) == f"1{NNBSP}250 points"
        assert formats.points_format(1) == "1 point"
        assert formats.money_format(Decimal("12.50"), "EUR") == f"12,50{NBSP}€"
        assert formats.number_format(Decimal("1234.5")) == f"1{NNBSP}234,5"
    with translation.override("en"):
        assert formats.points_format(1250) == "1,250 points"
        assert formats.points_format(1) == "1 point"
        assert formats.money_format(Decimal("12.50"), "EUR") == "€12.50"
        assert formats.money_format(Decimal("3"), "") == "3"


def test_dates_in_the_brands_timezone_across_the_spring_change(in_a):
    assert connection.tenant.timezone == "Europe/Paris"
    late_on_the_30th = datetime(2027, 3, 30, 22, 30, tzinfo=UTC)  # 00:30 on the 31st in Paris (CEST)
    before_change = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)  # 01:30 CET
    after_change = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30 CEST: 02:00-03:00 never happens
    with translation.override("fr"):
        assert formats.date_format(late_on_the_30th) == "31 mars 2027"
        assert formats.date_format(date(2027, 3, 31)) == "31 mars 2027"
        assert formats.datetime_format(before_change) == "28 mars 2027, 01:30"
        assert formats.datetime_format(after_change) == "28 mars 2027, 03:30"
    with translation.override("en"):
        assert formats.date_format(late_on_the_30th) == "March 31, 2027"
        assert formats.datetime_format(after_change) == f"Mar 28, 2027, 3:30{NNBSP}AM"


def test_the_template_tags_format_in_the_active_language(in_a):
    from django.template import Context, Template

    template = Template(
        "{% load formats %}{% points n %}|{% money amount 'EUR' %}|{% localdate at %}|{% localdatetime at %}"
    )
    context = Context({"n": 1250, "amount": Decimal("12.5"), "at": datetime(2027, 3, 31, 12, tzinfo=UTC)})
    with translation.override("fr"):
        assert template.render(context) == f"1{NNBSP}250 points|12,50{NBSP}€|31 mars 2027|31 mars 2027, 14:00"


# --- the translations and their compilation --------------------------------------------------------


def test_every_french_message_is_translated_and_none_is_fuzzy():
    with FRENCH_PO.open("rb") as po_file:
        catalog = read_po(po_file)
    assert len(catalog) > 100
    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (not message.string or (isinstance(message.string, tuple) and not all(message.string)))
    ]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]
    assert (untranslated, fuzzy) == ([], [])
    assert not [message for message in catalog if message.id and message.check()]  # placeholders match


def test_the_compiled_catalogues_are_those_of_the_po_files():
    messages = _messages_module()
    for po_path in sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        assert mo_path.exists(), f"{mo_path} missing: run `make messages`"
        assert mo_path.read_bytes() == messages.mo_bytes(po_path), f"{mo_path} is stale: run `make messages`"


def test_make_compiles_the_translations_without_gnu_gettext(tmp_path):
    locale = tmp_path / "locale" / "fr" / "LC_MESSAGES"
    locale.mkdir(parents=True)
    shutil.copy(FRENCH_PO, locale / "django.po")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "make").symlink_to(shutil.which("make"))
    env = {**os.environ, "PATH": str(bin_dir)}
    assert shutil.which("msgfmt", path=env["PATH"]) is None
    result = subprocess.run(
        ["make", "--no-print-directory", "messages", f"LOCALE={tmp_path / 'locale'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    compiled = locale / "django.mo"
    assert compiled.read_bytes() == _messages_module().mo_bytes(locale / "django.po")
    again = subprocess.run(
        ["make", "--no-print-directory", "messages", f"LOCALE={tmp_path / 'locale'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "compiled" not in again.stdout  # up to date: not compiled again
