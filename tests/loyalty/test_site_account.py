"""The member site's landing and account pages (loyalty/site/account.py): each page for a member
with entries of every kind, the live balance, history filters and pages, profile and consent
records, the sales reps' portfolio, query counts that do not grow with the history, escaping."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from catalog.services import RedeemItem, order_cancel, order_place
from loyalty.models import Badge, ConsentChange, LedgerEntry, Member, MemberBadge, ProgrammeSettings, Tier
from loyalty.rule_examples import POINT_PER_EURO
from loyalty.selectors.programme import programme_settings
from loyalty.selectors.site import dashboard_data, landing_data
from loyalty.services.expiry import points_expire_due
from loyalty.services.ledger import points_adjust
from loyalty.services.members import consent_set, member_sales_rep_set
from loyalty.services.rules import rule_create
from tests.catalog.factories import gift_make
from tests.conftest import host_of
from tests.factories import credit_make, member_make


def client_of(user) -> Client:
    client = Client(HTTP_HOST=host_of(connection.tenant))
    client.force_login(user)
    return client


def page(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:800])
    return response.content.decode()


@pytest.fixture
def staff(in_a):
    return get_user_model().objects.create_user(username="rep@alpha.example", password="x", is_staff=True)


@pytest.fixture
def member(in_a, staff):
    """A member with entries of every kind: earned, expired, adjusted, redeemed, given back."""
    member = member_make("SITE-1", login=True, first_name="Ada", last_name="Lovelace", language="en")
    past = timezone.now() - timedelta(days=400)
    credit_make(member, 30, at=past, expires_at=past + timedelta(days=1))
    points_expire_due(at=timezone.now())
    credit_make(member, 1000, expires_at=timezone.now() + timedelta(days=40))
    points_adjust(member_id=member.pk, points=15, reason="goodwill", staff_user_id=staff.pk)
    gift = gift_make(name="Cinema ticket", points_price=100, codes=["C-1", "C-2"])
    order, _ = order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk, quantity=1)],
        idempotency_key="o-1",
        actor="test",
    )
    order_cancel(order_id=order.pk, actor="test", note="changed my mind")
    order_place(
        member_id=member.pk,
        items=[RedeemItem(gift_id=gift.pk, quantity=1)],
        idempotency_key="o-2",
        actor="test",
    )
    member.refresh_from_db()
    return member


def test_the_landing_page_shows_the_programme_rules_tiers_and_gifts_without_login(in_a):
    rule_create(data=POINT_PER_EURO)
    Tier.objects.create(code="gold", name="Gold", threshold=Decimal(1000), benefits="Free delivery")
    gift_make(name="Picnic basket", points_price=900)
    html = page(Client(HTTP_HOST=host_of(in_a)).get("/"))
    assert "Welcome to Alpha" in html
    assert "How to earn points" in html and "1 point per euro" in html and "Purchase: 1 point per EUR" in html
    assert "Gold" in html and "Free delivery" in html
    assert "Picnic basket" in html and "/accounts/login/?next=/account/" in html


def test_the_dashboard_shows_balance_value_tier_expiry_badges_and_last_activity(member):
    Tier.objects.create(code="silver", name="Silver", threshold=Decimal(0), benefits="Birthday gift")
    gold = Tier.objects.create(code="gold", name="Gold", threshold=Decimal(5000))
    Member.objects.filter(pk=member.pk).update(tier=Tier.objects.get(code="silver"))
    badge = Badge.objects.create(code="first", name="First steps", event_type="trip", count_required=1)
    MemberBadge.objects.create(member=member, badge=badge, awarded_at=timezone.now())
    html = page(client_of(member.user).get("/account/"))
    assert "Hello Ada Lovelace" in html
    assert f"<span data-balance>{member.balance:,}</span>" in html  # 915 points
    assert "Worth" in html and "€45.75" in html  # 915 points at 5.00 EUR per 100
    assert "Silver" in html and "Birthday gift" in html and f"more to reach {gold.name}" in html
    assert '<progress id="tier-progress" max="100"' in html
    assert re.search(r"[\d,]+ points expire on \w+\.? \d+, 20\d\d", html), re.findall(
        r".{30}expire.{40}", html
    )
    assert "First steps" in html
    assert "Spent 100 points on order" in html and "Added 15 points" in html
    assert "style=" not in html and "<script>" not in html


def test_the_balance_json_follows_the_ledger(member):
    client = client_of(member.user)
    before = json.loads(page(client.get("/account/balance.json")))
    credit_make(member, 100)
    after = json.loads(page(client.get("/account/balance.json")))
    assert after["balance"] == before["balance"] + 100
    assert after["value_text"].startswith("€")  # core.formats.money_format, as on the page


def test_the_history_says_each_line_in_words_and_filters_by_kind_and_period(member):
    client = client_of(member.user)
    html = page(client.get("/account/history/"))
    for words in ("30 points expired", "Added 15 points", "Spent 100 points", "Gave back 100 points"):
        assert words in html
    only = page(client.get("/account/history/?kind=expire"))
    assert "30 points expired" in only and "Added 15 points" not in only
    recent = page(client.get("/account/history/?period=30d"))
    assert "Added 15 points" in recent and "30 points expired" in recent  # written off today
    old = LedgerEntry.objects.filter(member=member, kind="earn").order_by("created_at").first()
    assert old.created_at < timezone.now() - timedelta(days=300)
    assert "Earned 30 points" not in recent
    assert "Earned 30 points" in page(client.get("/account/history/?period=all"))
    # A bad filter shows everything, never an error page.
    assert "Added 15 points" in page(client.get("/account/history/?kind=nonsense&period=x"))


def test_the_history_pages_by_25(member):
    for _ in range(30):
        credit_make(member, 1)
    client = client_of(member.user)
    first = page(client.get("/account/history/"))
    assert first.count('class="entry ') == 25 and "Page 1 of 2" in first and "page=2" in first
    second = page(client.get("/account/history/?page=2"))
    assert second.count('class="entry ') == LedgerEntry.objects.filter(member=member).count() - 25


def test_the_profile_saves_contact_details_and_records_each_consent_change(member):
    consent_set(member=member, consents={"email": True}, source="api")
    client = client_of(member.user)
    html = page(client.get("/account/profile/"))
    assert 'name="consent_email" id="id_consent_email" checked' in html
    data = {
        "first_name": "Ada", "last_name": "Byron", "email": "ada@example.com", "phone": "+33612345678",
        "address_line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "fr",
        "language": "fr", "consent_sms": "on",
    }  # fmt: skip
    response = client.post("/account/profile/", data, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.last_name, member.country, member.language) == ("Byron", "FR", "fr")
    changes = list(ConsentChange.objects.filter(member=member).order_by("id").values_list(
        "channel", "granted", "source", "ip_address"
    ))  # fmt: skip
    assert changes == [
        ("email", True, "api", None),
        ("email", False, "site", "203.0.113.9"),
        ("sms", True, "site", "203.0.113.9"),
        ("voice", False, "site", "203.0.113.9"),
        ("post", False, "site", "203.0.113.9"),
    ]
    # The same form again changes no consent: no new record.
    client.post("/account/profile/", data, REMOTE_ADDR="203.0.113.9")
    assert ConsentChange.objects.filter(member=member).count() == 5


def test_a_bad_profile_is_refused_naming_the_field_and_writes_nothing(member):
    client = client_of(member.user)
    data = {"first_name": "Ada", "phone": "06 12", "country": "XX", "language": "en", "email": "a@b.example"}
    html = page(client.post("/account/profile/", {**data, "consent_sms": "on"}), 400)
    assert "is not an ISO 3166-1 country code" in html
    assert "E.164" in page(client.post("/account/profile/", {**data, "country": "FR"}), 400)
    html = page(client.post("/account/profile/", {**data, "phone": "", "country": "", "email": "nope"}), 400)
    assert "Enter a valid email address." in html
    member.refresh_from_db()
    assert (
        member.phone == "" and member.email == "" and not ConsentChange.objects.filter(member=member).exists()
    )


def test_pages_need_a_login_and_a_member(in_a, staff):
    anonymous = Client(HTTP_HOST=host_of(in_a))
    for path in ("/account/", "/account/history/", "/account/profile/", "/account/balance.json"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client = client_of(staff)
    assert "Members only" in page(client.get("/account/"), 403)
    customer = member_make(login=True)
    assert "Members only" in page(client_of(customer.user).get("/account/portfolio/"), 403)


def test_a_sales_rep_sees_exactly_their_members_read_only(in_a, member, staff):
    other_rep = get_user_model().objects.create_user(username="other@alpha.example", is_staff=True)
    mine = member_make("REP-1", first_name="Mine", kind="reseller", company_name="Mine & Co")
    theirs = member_make("REP-2", company_name="Theirs Ltd", kind="reseller")
    member_sales_rep_set(member=mine, by=staff, sales_rep=staff)
    member_sales_rep_set(member=member, by=staff, sales_rep=staff)
    member_sales_rep_set(member=theirs, by=staff, sales_rep=other_rep)
    client = client_of(staff)
    html = page(client.get("/account/portfolio/"))
    assert "Mine &amp; Co" in html and "Ada Lovelace" in html and "Theirs Ltd" not in html
    assert "2 members you follow" in html
    detail = page(client.get("/account/portfolio/SITE-1/"))
    assert (
        "Spent 100 points" in detail
        and "Cinema ticket" in detail
        and "<form" not in detail.split("<main")[1].split("</main>")[0]
    )
    assert client.get("/account/portfolio/REP-2/").status_code == 404
    assert client.get("/account/portfolio/NOBODY/").status_code == 404


def _queries(client: Client, path: str) -> int:
    page(client.get(path))  # what the first request of a session reads once (its cached data)
    with CaptureQueriesContext(connection) as queries:
        page(client.get(path))
    return len(queries)


@pytest.mark.parametrize("path", ["/account/", "/account/history/", "/account/portfolio/SITE-1/"])
def test_the_pages_queries_do_not_grow_with_the_entries(member, staff, path):
    member_sales_rep_set(member=member, by=staff, sales_rep=staff)
    client = client_of(staff if "portfolio" in path else member.user)
    for _ in range(20 - LedgerEntry.objects.filter(member=member).count()):
        credit_make(member, 1)
    few = _queries(client, path)
    for _ in range(180):
        credit_make(member, 1)
    assert LedgerEntry.objects.filter(member=member).count() >= 200
    assert _queries(client, path) == few


def test_the_portfolio_queries_do_not_grow_with_the_members(in_a, staff):
    client = client_of(staff)
    for _ in range(3):
        member_sales_rep_set(member=member_make(), by=staff, sales_rep=staff)
    few = _queries(client, "/account/portfolio/")
    for _ in range(20):
        member_sales_rep_set(member=member_make(), by=staff, sales_rep=staff)
    assert _queries(client, "/account/portfolio/") == few


def test_member_names_and_gift_texts_are_escaped(in_a, staff):
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    member = member_make("XSS-1", login=True, first_name=evil)
    member_sales_rep_set(member=member, by=staff, sales_rep=staff)
    gift_make(name=evil, points_price=10)
    Tier.objects.create(code="t", name=evil, threshold=Decimal(10), benefits=evil)
    for client, path in (
        (client_of(member.user), "/account/"),
        (Client(HTTP_HOST=host_of(in_a)), "/"),
        (client_of(staff), "/account/portfolio/"),
        (client_of(staff), "/account/portfolio/XSS-1/"),
    ):
        html = page(client.get(path))
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_a_member_without_a_tier_held_is_shown_the_threshold_0_tier_and_nothing_is_written(member):
    Tier.objects.create(code="member", name="Member", threshold=Decimal(0))
    Tier.objects.create(code="vip", name="VIP", threshold=Decimal(100000))
    assert member.tier_id is None
    html = page(client_of(member.user).get("/account/"))
    assert '<p class="big">Member</p>' in html and "No tier yet" not in html
    assert "more to reach VIP" in html
    member.refresh_from_db()
    assert member.tier_id is None  # a page view writes nothing


def test_the_tier_block_is_hidden_when_the_programme_has_no_tiers(member):
    html = page(client_of(member.user).get("/account/"))
    assert "My tier" not in html and "No tier yet" not in html
    assert "Tiers and what they bring" not in page(client_of(member.user).get("/"))


@pytest.mark.parametrize(
    ("metric", "en", "fr"),
    [
        ("amount_spent", "€100,000.00", "100\u202f000,00\xa0€"),
        ("points_earned", "100,000 points", "100\u202f000 points"),
    ],
)
def test_tier_thresholds_and_what_is_missing_say_their_unit_in_en_and_fr(member, metric, en, fr):
    ProgrammeSettings.objects.filter(pk=programme_settings().pk).update(tier_metric=metric)
    Tier.objects.create(code="member", name="Member", threshold=Decimal(0))
    Tier.objects.create(code="vip", name="VIP", threshold=Decimal(100000))
    html = page(client_of(member.user).get("/account/"))
    assert "more to reach VIP" in html
    landing = page(client_of(member.user).get("/"))
    assert f"From {en}" in landing
    with translation.override("fr"):
        assert landing_data().tiers[1].threshold_text == fr
        missing = dashboard_data(member=member).progress.missing_text
    assert missing.endswith(fr.split("\xa0")[-1] if metric == "amount_spent" else " points")


def test_the_nav_marks_the_page_and_the_section_it_is_in(member):
    client = client_of(member.user)
    order = member.orders.order_by("id").first()
    gift_id = order.lines.first().gift_id
    html = page(client.get("/gifts/"))
    assert '<a href="/gifts/" aria-current="page">Gifts</a>' in html
    html = page(client.get(f"/gifts/{gift_id}/"))
    assert '<a href="/gifts/" class="nav-section">Gifts</a>' in html and 'aria-current="page"' not in html
    html = page(client.get(f"/orders/{order.pk}/"))
    assert '<a href="/orders/" class="nav-section">Orders</a>' in html
    html = page(client.get("/account/history/"))
    assert '<a href="/account/history/" aria-current="page">History</a>' in html
    assert '<a href="/" class="nav-section">' not in html  # home is not everyone's section
