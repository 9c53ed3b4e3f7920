"""Staff accounts (core.staff, core.admin_staff): owners invite staff by e-mail (the invitee chooses
their password through a signed, single-use, expiring link sent by the brand's e-mail backend),
change roles and the staff settings, all audited; other roles reach none of it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from core.errors import Refused
from core.models import AuditEntry, StaffProfile, StaffSettings
from core.staff import staff_role_set
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import member_make, staff_make

User = get_user_model()
NEW_PASSWORD = "an-invited-staff-pass-2026"


def invitation_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/backoffice/invitation/\S+/)", message.body).group(1)


def logged_in(brand, user) -> Client:
    client = Client(HTTP_HOST=host_of(brand))
    response = client.post("/backoffice/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def owner(in_a):
    return staff_make("owner")


@pytest.fixture
def owner_client(in_a, owner):
    return logged_in(in_a, owner)


@pytest.fixture
def brand_mail(settings):
    """E-mails through the project's backend (the brand's provider, else the platform's: here locmem)."""
    settings.EMAIL_BACKEND = "messaging.mail_backend.BrandEmailBackend"
    settings.EMAIL_PLATFORM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_an_owner_invites_by_email_and_the_invitee_chooses_a_password(in_a, owner, owner_client, brand_mail):
    page = owner_client.get("/backoffice/auth/user/add/")
    assert page.status_code == 200 and 'name="role"' in page.content.decode()
    response = owner_client.post(
        "/backoffice/auth/user/add/", {"email": " Zoe@Staff.Example ", "role": "support"}
    )
    assert response.status_code == 302 and response["Location"] == "/backoffice/auth/user/"
    user = User.objects.get(username="zoe@staff.example")
    assert user.is_staff and not user.has_usable_password() and not user.is_superuser
    profile = user.staff_profile
    assert (profile.role, profile.invited_by, profile.invited_at is not None) == ("support", owner, True)
    entry = AuditEntry.objects.get(object_id=str(profile.pk), content_type__model="staffprofile")
    assert (entry.action, entry.actor, entry.after) == (
        "create",
        owner,
        {"email": "zoe@staff.example", "role": "support"},
    )

    (message,) = mail.outbox
    assert (
        message.to == ["zoe@staff.example"] and message.subject == "Alpha: Your invitation to the backoffice"
    )
    assert "as support" in message.body
    path = invitation_path(message)
    assert f"http://{host_of(in_a)}/backoffice/invitation/" in message.body

    invitee = Client(HTTP_HOST=host_of(in_a))
    form = invitee.get(path)
    assert form.status_code == 200 and "zoe@staff.example" in form.content.decode()
    differ = invitee.post(path, {"password1": NEW_PASSWORD, "password2": "something-else-2026"})
    weak = invitee.post(path, {"password1": "12345678", "password2": "12345678"})
    assert differ.status_code == weak.status_code == 200
    assert not User.objects.get(pk=user.pk).has_usable_password()

    done = invitee.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/backoffice/"
    assert invitee.get("/backoffice/password_change/").status_code == 200  # logged in
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    # The link works once.
    again = Client(HTTP_HOST=host_of(in_a)).get(path)
    assert again.status_code == 410 and "does not work" in again.content.decode()
    assert (
        Client(HTTP_HOST=host_of(in_a))
        .post("/backoffice/login/", {"username": "zoe@staff.example", "password": NEW_PASSWORD})
        .status_code
        == 302
    )


def test_an_invitation_expires_and_a_new_one_replaces_the_old_link(in_a, owner_client, brand_mail):
    owner_client.post("/backoffice/auth/user/add/", {"email": "late@staff.example", "role": "analyst"})
    old = invitation_path(mail.outbox[0])
    with time_machine.travel(timedelta(days=8)):
        expired = Client(HTTP_HOST=host_of(in_a)).get(old)
        assert expired.status_code == 410 and "expired" in expired.content.decode()
    user = User.objects.get(username="late@staff.example")
    response = owner_client.post(
        "/backoffice/auth/user/", {"action": "invite_again", "_selected_action": [user.pk]}
    )
    assert response.status_code == 302
    new = invitation_path(mail.outbox[1])
    assert Client(HTTP_HOST=host_of(in_a)).get(old).status_code == 410
    assert Client(HTTP_HOST=host_of(in_a)).get(new).status_code == 200


def test_an_invitation_to_an_address_with_a_login_writes_nothing(in_a, owner_client, brand_mail):
    member_make("STAFF-DUP", login=True)
    staff = User.objects.count()
    for email, field_error in (
        ("STAFF-DUP@example.com", "exists already"),
        ("not-an-address", "valid email address"),
    ):
        page = owner_client.post("/backoffice/auth/user/add/", {"email": email, "role": "support"})
        assert page.status_code == 200 and field_error in page.content.decode()
    bad_role = owner_client.post("/backoffice/auth/user/add/", {"email": "x@staff.example", "role": "king"})
    assert bad_role.status_code == 200
    assert User.objects.count() == staff and mail.outbox == []


def test_the_staff_list_shows_staff_only_and_a_role_change_is_audited(in_a, owner, owner_client):
    member = member_make("NOT-STAFF", login=True)
    rep = staff_make("sales_rep")
    listing = owner_client.get("/backoffice/auth/user/").content.decode()
    assert rep.username in listing and member.user.username not in listing
    assert owner_client.get(f"/backoffice/auth/user/{member.user.pk}/change/").status_code == 302  # not found

    form = {
        "email": rep.email,
        "first_name": "Rémi",
        "last_name": "Rep",
        "role": "manager",
        "is_active": "on",
    }
    response = owner_client.post(f"/backoffice/auth/user/{rep.pk}/change/", form)
    assert response.status_code == 302, response.content
    assert StaffProfile.objects.get(user=rep).role == "manager"
    entry = AuditEntry.objects.filter(
        content_type__model="staffprofile", object_id=str(rep.staff_profile.pk)
    ).get()
    assert (entry.action, entry.before, entry.after, entry.actor) == (
        "change",
        {"role": "sales_rep"},
        {"role": "manager"},
        owner,
    )


def test_the_last_owner_keeps_the_role(in_a, owner, owner_client):
    for other in StaffProfile.objects.filter(role="owner").exclude(user=owner):
        StaffProfile.objects.filter(pk=other.pk).update(role="manager")
    with pytest.raises(Refused) as refused:
        staff_role_set(user=owner, role="manager")
    assert refused.value.code == "last_owner"
    form = {"email": owner.email, "first_name": "", "last_name": "", "role": "support", "is_active": "on"}
    page = owner_client.post(f"/backoffice/auth/user/{owner.pk}/change/", form, follow=True)
    assert "must keep an owner" in page.content.decode()
    assert StaffProfile.objects.get(user=owner).role == "owner"
    form.update(role="owner", is_active="")  # deactivating the last owner's login: refused too
    page = owner_client.post(f"/backoffice/auth/user/{owner.pk}/change/", form, follow=True)
    assert "must keep an owner" in page.content.decode() and User.objects.get(pk=owner.pk).is_active
    second = staff_make("manager")
    staff_role_set(user=second, role="owner")
    assert staff_role_set(user=owner, role="manager").role == "manager"


def test_the_owner_sets_the_staff_settings_audited_and_a_bad_value_writes_nothing(in_a, owner, owner_client):
    page = owner_client.get("/backoffice/staff/settings/")
    assert page.status_code == 200 and 'name="idle_minutes"' in page.content.decode()
    own = page.content.decode()[page.content.decode().index('id="staff-page"') :]
    assert "style=" not in own and "<style>" not in own  # the CSP refuses both
    before = StaffSettings.objects.get(pk=1)
    bad = owner_client.post(
        "/backoffice/staff/settings/",
        {"support_adjust_limit": "500", "idle_minutes": "3", "two_factor_required": "on"},
    )
    assert bad.status_code == 200 and "idle_minutes" in bad.content.decode()
    assert StaffSettings.objects.get(pk=1).two_factor_required == before.two_factor_required
    good = owner_client.post(
        "/backoffice/staff/settings/",
        {
            "support_adjust_limit": "500",
            "idle_minutes": str(before.idle_minutes),
            "two_factor_required": "on",
        },
    )
    assert good.status_code == 302
    row = StaffSettings.objects.get(pk=1)
    assert (row.support_adjust_limit, row.two_factor_required) == (500, True)
    entry = AuditEntry.objects.get(content_type__model="staffsettings")
    assert entry.before == {"support_adjust_limit": before.support_adjust_limit, "two_factor_required": False}
    assert entry.after == {"support_adjust_limit": 500, "two_factor_required": True}


def test_an_owner_resets_a_lost_second_factor_audited(in_a, owner_client):
    user = staff_make("support", totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    response = owner_client.post(
        "/backoffice/auth/user/", {"action": "two_factor_reset", "_selected_action": [user.pk]}
    )
    assert response.status_code == 302
    profile = StaffProfile.objects.get(user=user)
    assert (profile.totp_secret, profile.totp_confirmed_at) == ("", None)
    entry = AuditEntry.objects.get(content_type__model="staffprofile", object_id=str(profile.pk))
    assert entry.after == {"two_factor": False}


@pytest.mark.parametrize("role", ["manager", "support", "sales_rep", "analyst"])
def test_only_owners_reach_staff_pages(in_a, role):
    user = staff_make(role)
    client = logged_in(in_a, user)
    target = staff_make("support")
    for path in (
        "/backoffice/auth/user/",
        "/backoffice/auth/user/add/",
        f"/backoffice/auth/user/{target.pk}/change/",
        "/backoffice/staff/settings/",
    ):
        assert client.get(path).status_code == 403, path
    assert (
        client.post("/backoffice/auth/user/add/", {"email": "x@staff.example", "role": "owner"}).status_code
        == 403
    )
    assert (
        client.post(
            "/backoffice/auth/user/", {"action": "two_factor_reset", "_selected_action": [target.pk]}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/backoffice/staff/settings/", {"support_adjust_limit": "9", "idle_minutes": "60"}
        ).status_code
        == 403
    )
    assert not User.objects.filter(username="x@staff.example").exists()
    assert not AuditEntry.objects.filter(content_type__model__in=["staffsettings", "staffprofile"]).exists()
