"""The operator's plans for brands (README.md, "Platform plans"): plans created and edited with
their inputs checked, each brand's usage counted in its schema in one statement, and a limit
crossed recorded once a month and limit, with nothing refused for it."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import get_public_schema_name, schema_context

from core.errors import InvalidInput
from loyalty.models import Member
from messaging.models import Message
from messaging.services.sending import message_queue, message_send
from tenants.models import Brand, PlanOverage, PlatformPlan
from tenants.plans import (
    brand_plan_assign,
    brand_usage_count,
    brand_usage_lines,
    plan_create,
    plan_update,
)
from tenants.services import brand_usage_refresh
from tests.factories import member_make, template_make

PARIS = ZoneInfo("Europe/Paris")
# A time inside the messaging tests' sending hours, in the middle of a month.
NOW = datetime(2027, 1, 12, 15, 0, tzinfo=PARIS)


def _sent(member: Member, channel: str, at: datetime | None, state: str = Message.State.SENT) -> Message:
    return Message.objects.create(
        member=member, channel=channel, purpose="service", language="en", state=state, sent_at=at
    )


# --- plans ------------------------------------------------------------------------------------------


def test_a_plan_is_created_with_empty_limits_meaning_no_limit(db):
    plan = plan_create(code="starter", name=" Starter ", members_limit=500, application_fee_percent="2.5")
    plan.refresh_from_db()
    assert (plan.code, plan.name, plan.members_limit, plan.messages_per_month) == (
        "starter",
        "Starter",
        500,
        None,
    )
    assert plan.application_fee_percent == Decimal("2.50")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"code": "Not A Slug"}, "code"),
        ({"code": ""}, "code"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"members_limit": -1}, "members_limit"),
        ({"members_limit": 2**31}, "members_limit"),
        ({"messages_per_month": "100"}, "messages_per_month"),
        ({"application_fee_percent": "100.01"}, "application_fee_percent"),
        ({"application_fee_percent": "-0.5"}, "application_fee_percent"),
        ({"application_fee_percent": "1.234"}, "application_fee_percent"),
        ({"application_fee_percent": "two"}, "application_fee_percent"),
        ({"application_fee_percent": "NaN"}, "application_fee_percent"),
        ({"application_fee_percent": 2.5}, "application_fee_percent"),
    ],
)
def test_a_bad_input_names_its_field_and_writes_nothing(db, values, field):
    good = {"code": "pro", "name": "Pro", "members_limit": 10, "messages_per_month": 100}
    with pytest.raises(InvalidInput) as raised:
        plan_create(**{**good, **values})
    assert list(raised.value.errors) == [field]
    assert not PlatformPlan.objects.exists()


def test_every_bad_field_is_named_at_once(db):
    with pytest.raises(InvalidInput) as raised:
        plan_create(code="?", name="", members_limit=-3, application_fee_percent="101")
    assert set(raised.value.errors) == {"code", "name", "members_limit", "application_fee_percent"}


def test_the_fee_bounds_are_allowed(db):
    assert plan_create(code="free", name="Free").application_fee_percent == Decimal("0")
    assert plan_create(code="all", name="All", application_fee_percent=100).application_fee_percent == 100


def test_a_plan_is_edited_and_keeps_its_code_unique(db):
    starter = plan_create(code="starter", name="Starter", members_limit=100)
    plan_create(code="pro", name="Pro")
    edited = plan_update(
        plan=starter,
        code="starter",
        name="Starter+",
        members_limit=None,
        messages_per_month=1000,
        application_fee_percent=Decimal("1.5"),
    )
    starter.refresh_from_db()
    assert (starter.name, starter.members_limit, starter.messages_per_month) == ("Starter+", None, 1000)
    assert edited.application_fee_percent == Decimal("1.50")
    with pytest.raises(InvalidInput) as raised:
        plan_update(
            plan=starter,
            code="pro",
            name="Starter",
            members_limit=None,
            messages_per_month=None,
            application_fee_percent=0,
        )
    assert raised.value.field == "code" and "already exists" in raised.value.message
    with pytest.raises(InvalidInput) as raised:
        plan_update(
            plan=starter,
            code="starter",
            name="Starter",
            members_limit=None,
            messages_per_month=None,
            application_fee_percent="150",
        )
    assert raised.value.field == "application_fee_percent"
    starter.refresh_from_db()
    assert (starter.code, starter.name, starter.application_fee_percent) == (
        "starter",
        "Starter+",
        Decimal("1.5"),
    )
    with pytest.raises(InvalidInput) as raised:
        plan_create(code="starter", name="Again")
    assert raised.value.field == "code"


def test_the_platform_itself_has_no_plan(db):
    plan = plan_create(code="pro", name="Pro")
    with pytest.raises(InvalidInput) as raised:
        brand_plan_assign(brand=Brand.objects.get(schema_name=get_public_schema_name()), plan=plan)
    assert raised.value.field == "brand"


# --- usage ------------------------------------------------------------------------------------------


def test_usage_counts_equal_the_rows_in_one_statement(db, brand_a):
    with schema_context(brand_a.schema_name):
        members = [member_make() for _ in range(3)]
        start = datetime(2027, 1, 1, tzinfo=PARIS)
        for channel, count in (("email", 4), ("sms", 2), ("post", 1)):
            for index in range(count):
                _sent(members[index % 3], channel, start + timedelta(days=index, minutes=1))
        _sent(members[0], "sms", start, state=Message.State.DELIVERED)  # the month's first instant
        _sent(members[0], "sms", start - timedelta(seconds=1))  # December, in Paris
        _sent(members[1], "email", datetime(2027, 2, 1, tzinfo=PARIS))  # next month
        _sent(members[2], "voice", None, state=Message.State.QUEUED)  # not sent (yet)
        _sent(members[2], "email", None, state=Message.State.SKIPPED)
        expected_members = Member.objects.count()
        in_month = Message.objects.filter(sent_at__gte=start, sent_at__lt=datetime(2027, 2, 1, tzinfo=PARIS))
        expected = {
            channel: in_month.filter(channel=channel).count() for channel in ("email", "sms", "voice", "post")
        }
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as queries:
        usage = brand_usage_count(brand=brand_a, now=NOW)
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(statements) == 1 and statements[0].startswith("SELECT (SELECT count(*)")
    assert usage["members"] == expected_members >= 3
    assert usage["messages"] == expected == {"email": 4, "sms": 3, "voice": 0, "post": 1}
    assert usage["messages_total"] == 8 and usage["month"] == "2027-01"
    assert usage["users"] >= usage["staff_users"] >= 1


def test_the_month_is_the_brand_s_calendar_month(db, brand_a):
    """At 00:30 on 1 February in Paris it is still January in UTC: February has no message yet."""
    with schema_context(brand_a.schema_name):
        member = member_make()
        _sent(member, "sms", datetime(2027, 1, 31, 23, 0, tzinfo=PARIS))
    usage = brand_usage_count(brand=brand_a, now=datetime(2027, 2, 1, 0, 30, tzinfo=PARIS))
    assert usage["month"] == "2027-02" and usage["messages_total"] == 0


# --- over a limit -----------------------------------------------------------------------------------


def test_a_crossing_is_recorded_once_a_month_with_one_log_line(db, brand_a, caplog):
    plan = plan_create(code="tiny", name="Tiny", members_limit=1, messages_per_month=1)
    brand_plan_assign(brand=brand_a, plan=plan)
    with schema_context(brand_a.schema_name):
        members = [member_make(), member_make()]
        _sent(members[0], "email", NOW - timedelta(hours=1))
    caplog.set_level(logging.WARNING, logger="tenants.plans")
    with time_machine.travel(NOW, tick=False):
        brand_a.refresh_from_db()
        usage = brand_usage_refresh(brand=brand_a)
        assert usage["members"] >= 2 and usage["messages_total"] == 1  # at the limit: not over
        over = PlanOverage.objects.get(brand=brand_a)
        assert (over.limit, over.month, over.allowed, over.used) == (
            "members",
            date(2027, 1, 1),
            1,
            usage["members"],
        )
        with schema_context(brand_a.schema_name):
            _sent(members[1], "sms", NOW - timedelta(minutes=5))
        brand_usage_refresh(brand=brand_a)
        brand_usage_refresh(brand=brand_a)
    assert sorted(PlanOverage.objects.filter(brand=brand_a).values_list("limit", "used")) == [
        ("members", usage["members"]),
        ("messages", 2),
    ]
    lines = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(lines) == 2 and all("over its plan tiny" in line for line in lines)
    assert any("messages 2 for 1 allowed" in line for line in lines)

    # The next month, the members still over the limit are recorded again, once.
    with time_machine.travel(datetime(2027, 2, 3, 12, 0, tzinfo=PARIS), tick=False):
        brand_usage_refresh(brand=brand_a)
        brand_usage_refresh(brand=brand_a)
    assert list(PlanOverage.objects.filter(brand=brand_a).values_list("month", "limit")) == [
        (date(2027, 2, 1), "members"),
        (date(2027, 1, 1), "members"),
        (date(2027, 1, 1), "messages"),
    ]


def test_no_plan_or_empty_limits_record_nothing(db, brand_a):
    with schema_context(brand_a.schema_name):
        member_make()
    brand_usage_refresh(brand=brand_a)
    brand_plan_assign(brand=brand_a, plan=plan_create(code="open", name="Open"))
    brand_a.refresh_from_db()
    brand_usage_refresh(brand=brand_a)
    assert not PlanOverage.objects.filter(brand=brand_a).exists()
    assert not any(line.over for line in brand_usage_lines(brand=brand_a))


def test_a_smaller_plan_assigned_records_the_crossing_from_the_last_count(db, brand_a):
    with schema_context(brand_a.schema_name):
        member_make()
        member_make()
    with time_machine.travel(NOW, tick=False):
        brand_a.refresh_from_db()
        brand_usage_refresh(brand=brand_a)
        brand_a.refresh_from_db()
        brand = brand_plan_assign(brand=brand_a, plan=plan_create(code="one", name="One", members_limit=1))
        lines = brand_usage_lines(brand=brand)
    assert PlanOverage.objects.filter(brand=brand_a, limit="members", month=date(2027, 1, 1)).count() == 1
    assert [(line.limit, line.over) for line in lines] == [("members", True), ("messages", False)]


def test_nothing_is_dropped_over_the_limits(db, brand_a, caplog):
    """Members are still created and messages still sent beyond the plan: the crossing is recorded."""
    plan = plan_create(code="tiny", name="Tiny", members_limit=0, messages_per_month=0)
    brand_plan_assign(brand=brand_a, plan=plan)
    with time_machine.travel(NOW, tick=True):
        with schema_context(brand_a.schema_name):
            member = member_make(first_name="Camille", phone="+33612345678", language="en")
            template_make("over", body="Still sent", purpose="service")
            message = message_queue(member=member, channel="sms", template_code="over")
            message_send(message_id=message.pk, attempts=0)
            message.refresh_from_db()
            assert Member.objects.filter(pk=member.pk).exists()
            assert message.state == Message.State.DELIVERED and message.sent_at is not None
        brand_a.refresh_from_db()
        usage = brand_usage_refresh(brand=brand_a)
    assert usage["messages"]["sms"] == 1
    assert set(PlanOverage.objects.filter(brand=brand_a).values_list("limit", flat=True)) == {
        "members",
        "messages",
    }


def test_the_demo_plans_are_seeded_once_and_the_operator_s_changes_kept(db, brand_a):
    from tenants.demo import DEMO_BRAND_PLANS, demo_plans_seed

    Brand.objects.filter(pk=brand_a.pk).update(slug="citycar")  # rolled back with the test
    demo_plans_seed()
    pro = PlatformPlan.objects.get(code="pro")
    assert set(PlatformPlan.objects.values_list("code", flat=True)) == {"starter", "pro"}
    assert pro.application_fee_percent == Decimal("2.00") and DEMO_BRAND_PLANS["citycar"] == "pro"
    assert Brand.objects.get(pk=brand_a.pk).platform_plan == pro
    starter = PlatformPlan.objects.get(code="starter")
    PlatformPlan.objects.filter(pk=starter.pk).update(members_limit=42)
    Brand.objects.filter(pk=brand_a.pk).update(platform_plan=starter)
    demo_plans_seed()
    assert PlatformPlan.objects.count() == 2 and PlatformPlan.objects.get(code="starter").members_limit == 42
    assert Brand.objects.get(pk=brand_a.pk).platform_plan == starter
