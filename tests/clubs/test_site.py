"""The club pages of the member site: `/club/` lists the spaces, `/club/<slug>/` shows the content
to members who meet the condition and only the teaser and how to get in to anyone else; a page or
an offer of the space is a 404 to them whatever its URL; the VIP line on /account/ and the club
pages, for VIP members only; Markdown the brand writes is sanitised; French and English."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clubs.models import ClubSettings, Offer, Space, SpacePage
from loyalty.models import Member
from tenants.selectors import brand_timezone
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import member_make
from tests.gatherings.factories import gathering_make

from .factories import content_make, space_make

pytestmark = pytest.mark.django_db(transaction=False)
SECRETS = ("Rare vintages", "Margaux", "Partner hotel", "HOTEL-SECRET-10")


def _client(member: Member | None = None) -> Client:
    client = Client(HTTP_HOST=host_of(connection.tenant))
    if member is not None:
        client.force_login(member.user)
    return client


def _login(**fields) -> Member:
    return member_make(login=True, **fields)


def _html(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:600])
    return response.content.decode()


def test_a_member_who_meets_the_condition_sees_the_content(in_a):
    space = space_make(entry="vip")
    _page, offer = content_make(space)
    client = _client(_login(is_vip=True))
    html = _html(client.get("/club/cellar/"))
    assert all(secret in html for secret in ("Rare vintages", "Partner hotel", "HOTEL-SECRET-10"))
    assert "Secret <em>Margaux</em> list" in _html(client.get("/club/cellar/vintages/"))
    assert "HOTEL-SECRET-10" in _html(client.get(f"/club/cellar/offers/{offer.pk}/"))
    assert "Cellar" in _html(client.get("/club/")) and "You are a member of this space." in _html(
        client.get("/club/")
    )


@pytest.mark.parametrize("who", ["anonymous", "not_vip", "blocked", "staff"])
def test_anyone_else_sees_the_teaser_never_the_content(in_a, who):
    space = space_make(entry="vip")
    _page, offer = content_make(space)
    if who == "anonymous":
        client = _client()
    elif who == "staff":
        client = _client()
        staff = get_user_model().objects.create_user(
            username="boss@alpha.example", password=TEST_PASSWORD, is_staff=True
        )
        client.force_login(staff)
    else:
        member = _login(is_vip=who == "blocked")
        if who == "blocked":
            Member.objects.filter(pk=member.pk).update(status="blocked")
        client = _client(member)
    html = _html(client.get("/club/cellar/"))
    assert "<strong>private</strong>" in html and "Spend 1,000 EUR in 9 months." in html
    assert "This space is for VIP members." in html
    assert not any(secret in html for secret in SECRETS)
    listing = _html(client.get("/club/"))
    assert "Members only" in listing and not any(secret in listing for secret in SECRETS)
    # Direct URLs: a 404, whether the page or offer exists or not.
    for url in ("/club/cellar/vintages/", f"/club/cellar/offers/{offer.pk}/", "/club/cellar/nothing/"):
        assert not any(secret in _html(client.get(url), 404) for secret in SECRETS)


def test_an_offer_out_of_its_dates_or_an_unpublished_page_is_not_shown(in_a):
    space = space_make(entry="vip")
    now = timezone.now()
    past = Offer.objects.create(
        space=space, title="Old deal", link="https://partner.example/old", valid_until=now
    )
    Offer.objects.create(space=space, title="Future deal", code="SOON", valid_from=now + timedelta(days=1))
    SpacePage.objects.create(space=space, slug="draft", title="Draft page", is_published=False)
    client = _client(_login(is_vip=True))
    html = _html(client.get("/club/cellar/"))
    assert "Old deal" not in html and "Future deal" not in html and "Draft page" not in html
    assert "No offer right now." in html
    _html(client.get(f"/club/cellar/offers/{past.pk}/"), 404)
    _html(client.get("/club/cellar/draft/"), 404)


def test_an_unknown_or_inactive_space_is_a_404(in_a):
    space_make("closed", is_active=False)
    client = _client(_login(is_vip=True))
    _html(client.get("/club/closed/"), 404)
    _html(client.get("/club/nowhere/"), 404)


def test_markdown_the_brand_writes_is_sanitised(in_a):
    space = space_make(
        entry="vip", teaser='<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror="y">'
    )
    SpacePage.objects.create(
        space=space, slug="p", title="P", body="<b onclick='z()'>bold</b> [ok](https://wine.example)"
    )
    client = _client(_login(is_vip=True))
    for html in (_html(client.get("/club/cellar/")), _html(client.get("/club/cellar/p/"))):
        assert "<script>" not in html and 'href="javascript' not in html and "<img src=x" not in html
        assert "<b onclick" not in html
    assert 'href="https://wine.example"' in _html(client.get("/club/cellar/p/"))


def test_the_private_line_is_shown_to_vip_members_only(in_a):
    ClubSettings.objects.create(vip_phone="+33 1 23 45 67 89", vip_phone_hours="Mon-Fri 9-18")
    space_make(entry="vip")
    vip, plain = _client(_login(is_vip=True)), _client(_login())
    for url in ("/account/", "/club/", "/club/cellar/"):
        assert "+33 1 23 45 67 89" in _html(vip.get(url)), url
        assert "+33 1 23 45 67 89" not in _html(plain.get(url)), url
    assert "+33 1 23 45 67 89" not in _html(_client().get("/club/"))


def test_the_dashboard_says_which_source_and_since_when(in_a):
    member = _login(is_vip=True)
    since = datetime(2026, 3, 14, 12, 0, tzinfo=brand_timezone())
    Member.objects.filter(pk=member.pk).update(vip_since=since)
    html = _html(_client(member).get("/account/"))
    assert "You are VIP" in html and 'data-vip-source="manual"' in html
    assert "<dd>Granted by staff</dd>" in html and "<dd>March 14, 2026</dd>" in html
    assert "You are not VIP yet." in _html(_client(_login()).get("/account/"))


def test_in_french(in_a):
    space_make(entry="vip")
    member = _login(is_vip=True, language="fr")
    client = _client(member)
    html = _html(client.get("/club/cellar/", HTTP_ACCEPT_LANGUAGE="fr"))
    assert "Offres" in html
    assert "Vous êtes VIP" in _html(client.get("/account/"))


def test_the_space_page_lists_its_upcoming_events_to_its_members_only(in_a):
    space, other = space_make(entry="vip"), space_make("golf", entry="vip")
    own = gathering_make(title="Cellar tasting", visibility="space", space=space)
    gathering_make(title="Golf day", visibility="space", space=other)
    gathering_make(title="Open day")
    gathering_make(title="Past dinner", visibility="space", space=space, starts_in=timedelta(days=-2))
    gathering_make(title="Draft dinner", visibility="space", space=space, state="draft")

    html = _html(_client(_login(is_vip=True)).get("/club/cellar/"))
    assert f'href="/events/{own.pk}/"' in html and "Cellar tasting" in html
    assert not any(title in html for title in ("Golf day", "Open day", "Past dinner", "Draft dinner"))
    assert "Cellar tasting" not in _html(_client(_login()).get("/club/cellar/"))


def test_the_club_list_and_a_space_page_read_a_bounded_number_of_queries(in_a, django_assert_max_num_queries):
    member = _login(is_vip=True)
    client = _client(member)

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            _html(client.get(path))
        return len(captured)

    space_make(entry="vip")
    space_make("cave", entry="code")
    few = (queries("/club/"), queries("/club/cellar/"))
    for index in range(4):
        space = space_make(f"vip-{index}", entry="vip")
        space_make(f"code-{index}", entry="code")
        content_make(space)
        gathering_make(title=f"Tasting {index}", visibility="space", space=space)
    with django_assert_max_num_queries(few[0]):
        _html(client.get("/club/"))
    cellar = Space.objects.get(slug="cellar")
    for index in range(4):
        SpacePage.objects.create(space=cellar, slug=f"page-{index}", title=f"Page {index}")
        Offer.objects.create(space=cellar, title=f"Offer {index}", code=f"CODE-{index}")
        gathering_make(title=f"Cellar {index}", visibility="space", space=cellar)
    with django_assert_max_num_queries(few[1]):
        _html(client.get("/club/cellar/"))
