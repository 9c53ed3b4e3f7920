"""The backoffice (/backoffice/) for a brand admin: member lookup and page, ledger, adjustments,
programme settings, tiers, badges and leaderboard, segments with their live count."""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone
from django.utils.html import escape

from core.errors import Conflict, InvalidInput
from loyalty.models import (
    Badge,
    EarningRule,
    LedgerEntry,
    Member,
    MemberAudit,
    MemberBadge,
    ProgrammeSettings,
    Segment,
    Tier,
    TierChange,
)
from loyalty.services.badges import badge_save
from loyalty.services.members import consent_set, member_block, member_unblock, member_upsert
from loyalty.services.programme import programme_settings_validate
from loyalty.services.tiers import tier_create
from tests.conftest import TEST_PASSWORD
from tests.factories import credit_make, debit_make, member_make


class _FormReader(HTMLParser):
    """The fields of the page's main form as a browser would submit them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            checkable = attrs.get("type") in ("checkbox", "radio")
            self.data.setdefault(name, []).append(attrs.get("value", "on" if checkable else ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += (
                data.removeprefix("\n") if not self.data[self._textarea][0] else data
            )


def _form(response) -> dict:
    reader = _FormReader()
    reader.feed(response.content.decode())
    return {
        name: values if len(values) > 1 else (values[0] if values else "")
        for name, values in reader.data.items()
    }


@pytest.fixture
def supported(staff_a):
    """A member with history: entries from a rule-less earning, a redemption, a tier, a badge, consents."""
    member = member_make(
        "C-1001", first_name="Jeanne", last_name="Moreau", email="jeanne@example.com", phone="+33612345678"
    )
    gold = tier_create(data={"code": "gold", "name": "Gold", "threshold": "100"})
    credit_make(member, 300)
    debit_make(member, 50)
    TierChange.objects.create(
        member=member, from_tier=None, to_tier=gold, reason="qualified", changed_at=timezone.now()
    )
    Member.objects.filter(pk=member.pk).update(tier=gold)
    badge = badge_save(data={"code": "tripper", "name": "Tripper", "event_type": "trip", "count_required": 1})
    MemberBadge.objects.create(member=member, badge=badge, awarded_at=timezone.now())
    consent_set(member=member, consents={"email": True, "sms": False}, source="web form")
    member.refresh_from_db()
    return member


def test_backoffice_pages_render_for_a_brand_admin(staff_a, supported):
    member = supported
    segment = Segment.objects.create(name="Gold", filters={"tiers": ["gold"]})
    pages = [
        "/backoffice/",
        "/backoffice/loyalty/member/",
        "/backoffice/loyalty/member/?q=C-1001",
        f"/backoffice/loyalty/member/{member.pk}/change/",
        f"/backoffice/loyalty/member/{member.pk}/ledger/",
        f"/backoffice/loyalty/member/{member.pk}/adjust/",
        "/backoffice/loyalty/programmesettings/1/change/",
        "/backoffice/loyalty/tier/",
        "/backoffice/loyalty/tier/add/",
        f"/backoffice/loyalty/tier/{member.tier_id}/change/",
        "/backoffice/loyalty/badge/",
        "/backoffice/loyalty/badge/add/",
        "/backoffice/loyalty/badge/leaderboard/",
        "/backoffice/loyalty/segment/",
        "/backoffice/loyalty/segment/add/",
        f"/backoffice/loyalty/segment/{segment.pk}/change/",
    ]
    for page in pages:
        response = staff_a.get(page)
        assert response.status_code == 200, (page, response.status_code)
    # The settings list is the settings page.
    assert staff_a.get("/backoffice/loyalty/programmesettings/")["Location"].endswith("/1/change/")


@pytest.mark.parametrize("query", ["C-1001", "jeanne@", "+336123", "Moreau", "Jeanne Moreau", "jean"])
def test_member_lookup_by_external_id_name_email_phone(staff_a, supported, query):
    member_make("C-2002", first_name="Paul", last_name="Martin", email="paul@example.com")
    page = staff_a.get("/backoffice/loyalty/member/", {"q": query}).content.decode()
    assert "C-1001" in page and "C-2002" not in page


def test_member_page_shows_balance_ledger_tier_history_badges_consents(staff_a, supported):
    page = staff_a.get(f"/backoffice/loyalty/member/{supported.pk}/change/").content.decode()
    assert '<strong id="member-balance">250</strong>' in page
    assert "+300" in page and "-50" in page and "source: test" in page  # the redemption's source
    assert "Tier history" in page and "Qualified" in page
    assert "Tripper" in page
    assert "web form" in page
    ledger = staff_a.get(f"/backoffice/loyalty/member/{supported.pk}/ledger/").content.decode()
    assert "append-only" in ledger and "+300" in ledger


def test_the_ledger_is_not_editable_or_deletable_from_the_backoffice(staff_a, supported):
    entry = LedgerEntry.objects.filter(member=supported).first()
    assert staff_a.get("/backoffice/loyalty/ledgerentry/").status_code == 404
    assert staff_a.get(f"/backoffice/loyalty/ledgerentry/{entry.pk}/change/").status_code == 404
    assert staff_a.get(f"/backoffice/loyalty/member/{supported.pk}/delete/").status_code == 403
    assert staff_a.get("/backoffice/loyalty/member/add/").status_code == 403


def test_the_member_form_cannot_change_a_balance_but_changes_the_profile_and_floor(staff_a, supported):
    url = f"/backoffice/loyalty/member/{supported.pk}/change/"
    data = _form(staff_a.get(url))
    assert "balance" not in data and "tier" not in data
    platinum = tier_create(data={"code": "platinum", "name": "Platinum", "threshold": "5000"})
    data.update(
        {
            "balance": "999999",
            "points_owed": "0",
            "first_name": "Jeanne-Marie",
            "tier_floor": str(platinum.pk),
        }
    )
    response = staff_a.post(url, data)
    assert response.status_code == 302, _form_errors(response)
    supported.refresh_from_db()
    assert (supported.balance, supported.first_name) == (250, "Jeanne-Marie")
    assert (supported.tier, supported.tier_floor) == (platinum, platinum)
    assert TierChange.objects.filter(member=supported, reason="floor", to_tier=platinum).exists()

    data = _form(staff_a.get(url))
    data["phone"] = "0612345678"
    response = staff_a.post(url, data)
    assert response.status_code == 200 and "E.164" in response.content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"country": "ZZ"}, "country", "'ZZ' is not an ISO 3166-1 country code"),
        ({"language": "xx"}, "language", "'xx' is not an ISO 639-1 language code"),
    ],
)
def test_the_member_form_refuses_an_unknown_code_on_its_field_and_saves_nothing(
    staff_a, supported, change, field, message
):
    url = f"/backoffice/loyalty/member/{supported.pk}/change/"
    data = {**_form(staff_a.get(url)), "first_name": "Jeanne-Marie", **change}
    response = staff_a.post(url, data)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    assert escape(message) in response.content.decode()  # shown on the page
    before = (supported.first_name, supported.country, supported.language, supported.updated_at)
    supported.refresh_from_db()
    assert (supported.first_name, supported.country, supported.language, supported.updated_at) == before


def test_the_member_form_stores_codes_in_their_usual_case(staff_a, supported):
    url = f"/backoffice/loyalty/member/{supported.pk}/change/"
    data = {**_form(staff_a.get(url)), "country": "be", "language": "NL"}
    response = staff_a.post(url, data)
    assert response.status_code == 302, _form_errors(response)
    supported.refresh_from_db()
    assert (supported.country, supported.language) == ("BE", "nl")


def _form_errors(response) -> str:
    context = response.context
    if context and "adminform" in context:
        return str(context["adminform"].form.errors) + str(
            [formset.formset.errors for formset in context["inline_admin_formsets"]]
        )
    return str(response.status_code)


def test_adjust_form_refuses_an_empty_reason_and_zero(staff_a, supported):
    url = f"/backoffice/loyalty/member/{supported.pk}/adjust/"
    key = _form(staff_a.get(url))["key"]
    for data, message in (
        ({"points": "10", "reason": "   ", "key": key}, "This field is required."),
        ({"points": "0", "reason": "goodwill", "key": key}, "cannot be zero"),
        ({"points": "ten", "reason": "goodwill", "key": key}, "Enter a whole number."),
        ({"points": "-1000", "reason": "correction", "key": key}, "not enough points"),
    ):
        response = staff_a.post(url, data)
        assert response.status_code == 200 and message in response.content.decode(), data
    assert not LedgerEntry.objects.filter(member=supported, kind="adjust").exists()


def test_adjust_form_adjusts_once_with_the_staff_user_and_reason(staff_a, supported):
    url = f"/backoffice/loyalty/member/{supported.pk}/adjust/"
    key = _form(staff_a.get(url))["key"]
    for _ in range(2):  # a double click submits the same form twice
        response = staff_a.post(url, {"points": "-40", "reason": "damaged gift returned", "key": key})
        assert response.status_code == 302
    entry = LedgerEntry.objects.get(member=supported, kind="adjust")
    assert (entry.points, entry.reason, entry.staff_user.username) == (
        -40,
        "damaged gift returned",
        "admin@alpha.example",
    )
    supported.refresh_from_db()
    assert supported.balance == 210


def test_staff_without_the_adjust_permission_cannot_adjust(db, brand_a, client_for):
    connection.set_tenant(brand_a)
    member = member_make("m-1")
    staff = get_user_model().objects.create_user(
        username="support@alpha.example", password=TEST_PASSWORD, is_staff=True
    )
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_member", "change_member"]))
    Member.objects.filter(pk=member.pk).update(sales_rep=staff)  # theirs: staff see their portfolio
    client = client_for(brand_a)
    client.post("/accounts/login/", {"username": "support@alpha.example", "password": TEST_PASSWORD})
    assert client.get(f"/backoffice/loyalty/member/{member.pk}/change/").status_code == 200
    assert client.get(f"/backoffice/loyalty/member/{member.pk}/adjust/").status_code == 403
    response = client.post(
        f"/backoffice/loyalty/member/{member.pk}/adjust/", {"points": "5", "reason": "x", "key": "k"}
    )
    assert response.status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="adjust_points"))
    client.post(
        f"/backoffice/loyalty/member/{member.pk}/adjust/", {"points": "5", "reason": "goodwill", "key": "k"}
    )
    assert LedgerEntry.objects.get(member=member).reason == "goodwill"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"currency": ["EUR"]}, "currency"),
        ({"currency": 10**30}, "currency"),
        ({"unit_value": "five"}, "unit_value"),
        ({"unit_value": {"amount": 5}}, "unit_value"),
    ],
)
def test_programme_settings_of_the_wrong_type_are_refused_naming_the_field(db, brand_a, data, field):
    """They raised a TypeError (a 500 wherever the service is called) before."""
    connection.set_tenant(brand_a)
    with pytest.raises(InvalidInput) as refused:
        programme_settings_validate(data=data)
    assert list(refused.value.errors) == [field]


def test_programme_settings_page_validates_and_applies_the_overdraft_to_every_member(staff_a):
    indebted = member_make("owes")
    member_make("plain")
    Member.objects.filter(pk=indebted.pk).update(overdraft_limit=100)
    debit_make(indebted, 70)  # owes 70
    url = "/backoffice/loyalty/programmesettings/1/change/"
    page = staff_a.get(url).content.decode()
    assert "Europe/Paris" in page, "the brand's timezone is shown"
    data = _form(staff_a.get(url))
    assert "brand_timezone" not in data, "the timezone is read-only"

    response = staff_a.post(url, {**data, "expiry_policy": "days", "expiry_days": ""})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["expiry_days"]
    response = staff_a.post(url, {**data, "tier_metric": "event_count", "tier_metric_event_type": ""})
    assert "tier_metric_event_type" in response.context["adminform"].form.errors

    response = staff_a.post(
        url,
        {
            **data,
            "overdraft_limit": "50",
            "expiry_policy": "end_of_month",
            "points_per_unit": "100",
            "unit_value": "5.00",
        },
    )
    assert response.status_code == 302, _form_errors(response)
    programme = ProgrammeSettings.objects.get()
    assert (programme.overdraft_limit, programme.expiry_policy) == (50, "end_of_month")
    limits = dict(Member.objects.values_list("external_id", "overdraft_limit"))
    assert limits == {"owes": 70, "plain": 50}, "a member owing more keeps their debt as their limit"


def test_tier_badge_and_segment_forms_refuse_bad_input_naming_the_field(staff_a):
    tier_create(data={"code": "gold", "name": "Gold", "threshold": "100"})
    response = staff_a.post(
        "/backoffice/loyalty/tier/add/",
        {"code": "vip", "name": "VIP", "threshold": "100", "earn_multiplier": "1"},
    )
    assert "another tier already has this threshold" in str(
        response.context["adminform"].form.errors["threshold"]
    )
    response = staff_a.post(
        "/backoffice/loyalty/tier/add/",
        {"code": "vip", "name": "VIP", "threshold": "1000", "earn_multiplier": "1.5"},
    )
    assert response.status_code == 302
    assert Tier.objects.get(code="vip").earn_multiplier == 1.5

    response = staff_a.post(
        "/backoffice/loyalty/badge/add/",
        {
            "code": "critic",
            "name": "Critic",
            "event_type": "review",
            "count_required": "5",
            "conditions": '[{"field": "attributes.status", "op": "like", "value": 1}]',
        },
    )
    assert "does not apply to attributes.status" in str(
        response.context["adminform"].form.errors["conditions"]
    )
    response = staff_a.post(
        "/backoffice/loyalty/badge/add/",
        {"code": "critic", "name": "Critic", "event_type": "review", "count_required": "5", "conditions": ""},
    )
    assert response.status_code == 302

    response = staff_a.post(
        "/backoffice/loyalty/segment/add/", {"name": "Rich", "filters": '{"balance": {"min": "ten"}}'}
    )
    assert "balance.min: must be a whole number" in str(response.context["adminform"].form.errors["filters"])
    response = staff_a.post(
        "/backoffice/loyalty/segment/add/", {"name": "Rich", "filters": '{"balance": {"min": 10}}'}
    )
    assert response.status_code == 302
    assert Segment.objects.get(name="Rich").filters == {"balance": {"min": 10}}


DEEP_JSON = "[" * 5000 + "]" * 5000
NUL_CONDITIONS = '[{"field": "attributes.shop", "op": "equals", "value": "a\\u0000b"}]'
RULE_FORM = {"name": "Shop", "event_type": "purchase", "award_type": "fixed", "points": "5",
             "points_per_unit": "0", "multiplier": "1", "rounding": "down", "priority": "100",
             "beneficiary": "member", "is_active": "on", "conditions": "[]",
             "item_conditions": "[]"}  # fmt: skip
BADGE_FORM = {"code": "critic", "name": "Critic", "event_type": "review", "count_required": "5"}


@pytest.mark.parametrize(
    ("url", "data", "field", "message"),
    [
        ("earningrule", {**RULE_FORM, "conditions": NUL_CONDITIONS}, "conditions", "[0].value: may not"),
        ("earningrule", {**RULE_FORM, "item_conditions": DEEP_JSON}, "item_conditions", "nested deeper"),
        ("badge", {**BADGE_FORM, "conditions": NUL_CONDITIONS}, "conditions", "[0].value: may not"),
        ("badge", {**BADGE_FORM, "conditions": DEEP_JSON}, "conditions", "nested deeper"),
        ("segment", {"name": "S", "filters": '{"tags": {"any": ["\\u0000"]}}'}, "filters", "tags.any[0]"),
        ("segment", {"name": "S", "filters": DEEP_JSON}, "filters", "nested deeper than 32 levels"),
    ],
)
def test_json_fields_holding_a_nul_or_nested_too_deep_are_form_errors(staff_a, url, data, field, message):
    """PostgreSQL refuses a NUL in jsonb and Python's JSON parser recurses: each was a 500."""
    before = (EarningRule.objects.count(), Badge.objects.count(), Segment.objects.count())
    response = staff_a.post(f"/backoffice/loyalty/{url}/add/", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    assert (EarningRule.objects.count(), Badge.objects.count(), Segment.objects.count()) == before


@pytest.mark.parametrize(
    ("attributes", "message"),
    [('{"shop": "a\\u0000"}', "shop: may not contain"), (DEEP_JSON, "nested deeper than 32 levels")],
)
def test_the_simulator_refuses_attributes_holding_a_nul_or_nested_too_deep(staff_a, attributes, message):
    data = {"sim-member": "nobody", "sim-event_type": "purchase", "sim-occurred_at": "2026-05-04T19:30",
            "sim-attributes": attributes}  # fmt: skip
    response = staff_a.post("/backoffice/loyalty/earningrule/simulate/", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["simulator_form"].errors["attributes"])


@pytest.mark.parametrize(
    ("filters", "message"),
    [('{"tags": {"any": ["\\u0000"]}}', "tags.any[0]: may not"), (DEEP_JSON, "nested deeper")],
)
def test_the_segment_live_count_refuses_a_nul_or_json_nested_too_deep(staff_a, filters, message):
    response = staff_a.post("/backoffice/loyalty/segment/count/", {"filters": filters})
    assert response.status_code == 400
    assert message in response.json()["errors"]["filters"][0]


def test_segment_live_count(staff_a):
    for index, balance in enumerate((5, 50, 500)):
        member = member_make(f"s{index}")
        Member.objects.filter(pk=member.pk).update(balance=balance, overdraft_limit=0)
    url = "/backoffice/loyalty/segment/count/"
    assert staff_a.post(url, {"filters": json.dumps({"balance": {"min": 50}})}).json() == {"count": 2}
    assert staff_a.post(url, {"filters": "{}"}).json() == {"count": 3}
    bad = staff_a.post(url, {"filters": '{"vip": "yes"}'})
    assert bad.status_code == 400 and bad.json() == {"errors": {"vip": ["must be true or false"]}}
    assert staff_a.post(url, {"filters": "{nope"}).status_code == 400
    assert staff_a.get(url).status_code == 405


def test_leaderboard_page_lists_badge_holders(staff_a):
    badge = badge_save(
        data={"code": "reporter", "name": "Reporter", "event_type": "damage_report", "count_required": 1}
    )
    for name, days in (("first", 3), ("second", 1)):
        member = member_make(name, first_name=name.title())
        MemberBadge.objects.create(
            member=member, badge=badge, awarded_at=timezone.now() - timedelta(days=days)
        )
    page = staff_a.get("/backoffice/loyalty/badge/leaderboard/").content.decode()
    assert page.index("First") < page.index("Second")
    assert "Reporter" in page


def test_the_member_form_blocks_and_unblocks_with_a_reason_each_time_audited(staff_a, supported):
    url = f"/backoffice/loyalty/member/{supported.pk}/change/"
    data = {**_form(staff_a.get(url)), "status": "blocked"}
    response = staff_a.post(url, data)
    assert response.status_code == 200 and "Say why the status" in response.content.decode()
    supported.refresh_from_db()
    assert supported.status == "active" and not MemberAudit.objects.exists()

    response = staff_a.post(url, {**data, "reason": "chargeback fraud"})
    assert response.status_code == 302, _form_errors(response)
    supported.refresh_from_db()
    assert supported.status == "blocked"
    audit = MemberAudit.objects.get(member=supported)
    staff = get_user_model().objects.get(username="admin@alpha.example")
    assert (audit.action, audit.by, audit.reason) == ("block", staff, "chargeback fraud")
    assert (audit.before, audit.after) == ({"status": "active"}, {"status": "blocked"})

    data = {**_form(staff_a.get(url)), "status": "active", "reason": "cleared by the bank"}
    assert staff_a.post(url, data).status_code == 302
    assert list(MemberAudit.objects.filter(member=supported).values_list("action", flat=True)) == [
        "unblock",
        "block",
    ]
    assert "cleared by the bank" in staff_a.get(url).content.decode()


def test_the_member_form_sets_the_sales_rep_with_an_audit_row(staff_a, supported):
    url = f"/backoffice/loyalty/member/{supported.pk}/change/"
    rep = get_user_model().objects.get(username="admin@alpha.example")
    data = {**_form(staff_a.get(url)), "sales_rep": str(rep.pk), "reason": "new territory"}
    response = staff_a.post(url, data)
    assert response.status_code == 302, _form_errors(response)
    supported.refresh_from_db()
    assert supported.sales_rep == rep
    audit = MemberAudit.objects.get(member=supported)
    assert (audit.action, audit.reason) == ("sales_rep", "new territory")
    assert (audit.before, audit.after) == ({"sales_rep": None}, {"sales_rep": rep.pk})


def test_anonymising_clears_the_person_and_keeps_the_balance_and_entries(staff_a, supported):
    login = get_user_model().objects.create_user(username="jeanne@example.com", email="jeanne@example.com")
    Member.objects.filter(pk=supported.pk).update(user=login)
    entries = list(LedgerEntry.objects.filter(member=supported).values_list("id", "points", "balance_after"))
    url = f"/backoffice/loyalty/member/{supported.pk}/change/"
    data = {**_form(staff_a.get(url)), "status": "anonymised", "reason": "GDPR erasure request"}
    response = staff_a.post(url, data)
    assert response.status_code == 302, _form_errors(response)
    supported.refresh_from_db()
    assert (supported.status, supported.balance, supported.external_id) == ("anonymised", 250, "C-1001")
    assert (supported.first_name, supported.last_name, supported.email, supported.phone) == ("", "", "", "")
    assert supported.user is None
    login.refresh_from_db()
    assert (login.is_active, login.email, login.has_usable_password()) == (False, "", False)
    assert "jeanne" not in login.username
    after = list(LedgerEntry.objects.filter(member=supported).values_list("id", "points", "balance_after"))
    assert after == entries
    audit = MemberAudit.objects.get(member=supported)
    assert audit.after == {
        "status": "anonymised",
        "cleared": ["first_name", "last_name", "email", "phone"],
        "login_unlinked": True,
    }
    assert "Jeanne" not in str(audit.before) + str(audit.after)

    # The page shows the details, status and rep without fields: nothing posted sets them again.
    page = _form(staff_a.get(url))
    assert not {"first_name", "email", "status", "sales_rep"} & set(page)
    data = {**page, "first_name": "Jeanne", "email": "j@example.com", "status": "active", "reason": "undo"}
    assert staff_a.post(url, data).status_code == 302
    supported.refresh_from_db()
    assert (supported.status, supported.first_name, supported.email) == ("anonymised", "", "")
    staff = get_user_model().objects.get(username="admin@alpha.example")
    with pytest.raises(Conflict):
        member_block(member=supported, by=staff, reason="again")
    assert MemberAudit.objects.filter(member=supported).count() == 1


def test_a_status_change_needs_a_reason_and_a_status_it_can_start_from(staff_a, supported):
    staff = get_user_model().objects.get(username="admin@alpha.example")
    with pytest.raises(InvalidInput) as raised:
        member_block(member=supported, by=staff, reason="  ")
    assert raised.value.field == "reason"
    with pytest.raises(Conflict):
        member_unblock(member=supported, by=staff, reason="not blocked")
    assert not MemberAudit.objects.exists()


def test_the_block_action_asks_a_reason_then_blocks_and_names_who_it_left(staff_a, supported):
    staff = get_user_model().objects.get(username="admin@alpha.example")
    other = member_block(member=member_upsert(external_id="C-2002", data={})[0], by=staff, reason="earlier")
    picked = {"action": "block", "_selected_action": [str(supported.pk), str(other.pk)]}
    page = staff_a.post("/backoffice/loyalty/member/", picked)
    assert page.status_code == 200 and "C-2002" in page.content.decode()
    assert not MemberAudit.objects.filter(member=supported).exists()
    reasoned = {**picked, "reason": "fraud ring"}
    response = staff_a.post("/backoffice/loyalty/member/", reasoned, follow=True)
    page = response.content.decode()
    assert "Block: 1 members." in page and "C-2002: the member is blocked" in page
    supported.refresh_from_db()
    assert supported.status == "blocked"
    audit = MemberAudit.objects.get(member=supported)
    assert (audit.action, audit.by, audit.reason) == ("block", staff, "fraud ring")
    assert MemberAudit.objects.filter(member=other).count() == 1
