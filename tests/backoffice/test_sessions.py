"""Staff sessions end after `StaffSettings.idle_minutes` without a request (core.staff_sessions);
requests keep them alive; members' sessions are not touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from core.models import StaffSettings
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import member_make, staff_make

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PAGE = "/backoffice/password_change/"  # a backoffice page any staff user may open


@pytest.fixture
def staff_client(in_a):
    user = staff_make("support")
    client = Client(HTTP_HOST=host_of(in_a))
    with time_machine.travel(START, tick=False):
        assert (
            client.post(
                "/backoffice/login/", {"username": user.username, "password": TEST_PASSWORD}
            ).status_code
            == 302
        )
    return client


def test_a_staff_session_ends_after_the_idle_minutes_without_a_request(staff_client):
    StaffSettings.objects.update_or_create(pk=1, defaults={"idle_minutes": 30})
    with time_machine.travel(START + timedelta(minutes=29), tick=False):
        assert staff_client.get(PAGE).status_code == 200
    # Each request counts: 29 + 29 minutes after the login is 29 minutes after the last request.
    with time_machine.travel(START + timedelta(minutes=58), tick=False):
        assert staff_client.get(PAGE).status_code == 200
    with time_machine.travel(START + timedelta(minutes=58 + 31), tick=False):
        ended = staff_client.get(PAGE)
        assert ended.status_code == 302
        assert ended["Location"] == f"/backoffice/login/?next={PAGE.replace('/', '%2F')}"
        assert "_auth_user_id" not in staff_client.session
        # Logged out for good: the next request is anonymous.
        assert staff_client.get(PAGE)["Location"].startswith("/backoffice/login/")


def test_the_owners_idle_minutes_apply_to_sessions_already_open(staff_client):
    StaffSettings.objects.update_or_create(pk=1, defaults={"idle_minutes": 5})
    with time_machine.travel(START + timedelta(minutes=4), tick=False):
        assert staff_client.get(PAGE).status_code == 200
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        assert staff_client.get(PAGE).status_code == 302


def test_a_members_session_is_not_a_staff_one(in_a):
    member = member_make("SESS-1", login=True, email="sess@example.com")
    StaffSettings.objects.update_or_create(pk=1, defaults={"idle_minutes": 5})
    client = Client(HTTP_HOST=host_of(in_a))
    with time_machine.travel(START, tick=False):
        client.post("/accounts/login/", {"username": member.user.username, "password": TEST_PASSWORD})
    with time_machine.travel(START + timedelta(hours=3), tick=False):
        assert client.get("/account/").status_code == 200
