"""Brand staff accounts (README "Staff accounts"): invitations, roles and the staff settings.

- An owner (`core.manage_staff`) invites someone by e-mail with a role (`staff_invite`): their login
  is created without a password and they get a link, through the brand's e-mail backend as password
  resets do (`messaging.mail_backend`), to choose one (`staff_invitation_accept`). The link is
  signed with a salt naming the brand's schema (another brand's host refuses it), expires after
  `INVITATION_MAX_AGE` and carries a digest of the login's password and invitation time, so it
  works once and a new invitation replaces it.
- A role changes through `staff_role_set`; the brand always keeps an active owner.
- `StaffSettings` (one row) through `staff_settings_update`; read with `core.roles.staff_settings_get`.

Invitations, role changes and settings changes are audited (`core.audit.audit_record`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from core.audit import audit_changes, audit_record, audit_snapshot
from core.errors import Conflict, InvalidInput, Refused
from core.models import StaffProfile, StaffSettings
from tenants.selectors import schema_current

INVITATION_MAX_AGE = timedelta(days=7)
SETTINGS_FIELDS = ("support_adjust_limit", "two_factor_required", "idle_minutes")


# --- selectors ----------------------------------------------------------------------------------


def staff_profile_of(user: Any) -> StaffProfile | None:
    if user is None or not getattr(user, "pk", None):
        return None
    return StaffProfile.objects.filter(user_id=user.pk).first()


def staff_invitation_user(*, token: str) -> Any:
    """The staff login an invitation link is for, while it works (a Refused otherwise)."""
    return _invited(token=token, users=get_user_model().objects.all())


# --- services -----------------------------------------------------------------------------------


def staff_settings_update(*, values: dict[str, Any]) -> StaffSettings:
    """Change the staff settings (the keys of `values` among SETTINGS_FIELDS), audited."""
    unknown = sorted(set(values) - set(SETTINGS_FIELDS))
    if unknown:
        raise InvalidInput({name: [_("Unknown setting.")] for name in unknown})
    errors: dict[str, list[str]] = {}
    for name in ("support_adjust_limit", "idle_minutes"):
        if name in values and (not isinstance(values[name], int) or isinstance(values[name], bool)):
            errors[name] = [_("A whole number is expected.")]
    if "support_adjust_limit" in values and not errors.get("support_adjust_limit"):
        if values["support_adjust_limit"] < 0:
            errors["support_adjust_limit"] = [_("The limit cannot be negative.")]
    if "idle_minutes" in values and not errors.get("idle_minutes"):
        if not 5 <= values["idle_minutes"] <= 24 * 60:
            errors["idle_minutes"] = [_("Between 5 minutes and 24 hours (1440 minutes).")]
    if "two_factor_required" in values and not isinstance(values["two_factor_required"], bool):
        errors["two_factor_required"] = [_("Yes or no is expected.")]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        row = StaffSettings.objects.select_for_update().filter(pk=1).first() or StaffSettings(pk=1)
        before = audit_snapshot(row, fields=SETTINGS_FIELDS)
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        changed_before, changed_after = audit_changes(before, audit_snapshot(row, fields=SETTINGS_FIELDS))
        if changed_after:
            audit_record(action="change", obj=row, before=changed_before, after=changed_after)
    return row


def staff_invite(*, email: str, role: str, by: Any, base_url: str) -> Any:
    """Create the staff login of `email` with `role`, without a password, and e-mail them the link
    to choose one (`base_url`: the brand's address the link starts with)."""
    email = (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    if role not in StaffProfile.Role.values:
        errors["role"] = [_("Choose one of the roles.")]
    if errors:
        raise InvalidInput(errors)
    users = get_user_model().objects
    with transaction.atomic():
        if users.select_for_update().filter(Q(username__iexact=email) | Q(email__iexact=email)).exists():
            raise Conflict(
                _("A login with this e-mail address exists already."), field="email", code="email_taken"
            )
        user = users.model(username=email, email=email, is_staff=True, is_active=True)
        user.set_unusable_password()
        user.save()
        profile = StaffProfile.objects.create(
            user=user,
            role=role,
            invited_by=by if getattr(by, "pk", None) else None,
            invited_at=timezone.now(),
        )
        audit_record(
            action="create",
            obj=profile,
            after={"email": email, "role": role},
            reason=_("invited by e-mail"),
        )
    _invitation_mail(user=user, profile=profile, base_url=base_url)
    return user


def staff_invitation_resend(*, user: Any, base_url: str) -> None:
    """A new invitation link for a staff login that has not chosen its password; the old one dies."""
    with transaction.atomic():
        profile = StaffProfile.objects.select_for_update().filter(user_id=user.pk).first()
        user = get_user_model().objects.get(pk=user.pk)
        if profile is None or user.has_usable_password() or not user.is_active:
            raise Refused(
                _("Only an active staff login that has not chosen its password can be invited again."),
                field="user",
                code="not_invitable",
            )
        profile.invited_at = timezone.now()
        profile.save(update_fields=["invited_at"])
        audit_record(action="action", obj=profile, after={"email": user.email}, reason=_("invited again"))
    _invitation_mail(user=user, profile=profile, base_url=base_url)


def staff_invitation_accept(*, token: str, password: str) -> Any:
    """The invitee chooses their password: the link is used up. Returns the login."""
    with transaction.atomic():
        user = _invited(token=token, users=get_user_model().objects.select_for_update())
        try:
            password_validation.validate_password(password, user=user)
        except ValidationError as error:
            raise InvalidInput({"password": list(error.messages)}) from None
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def staff_role_set(*, user: Any, role: str) -> StaffProfile:
    """Give a staff user another role, audited; the brand keeps at least one active owner."""
    if role not in StaffProfile.Role.values:
        raise InvalidInput({"role": [_("Choose one of the roles.")]})
    with transaction.atomic():
        owners = StaffProfile.objects.select_for_update().filter(
            role=StaffProfile.Role.OWNER, user__is_active=True
        )
        list(owners)  # every owner's row locked: two demotions at once cannot both pass
        profile = StaffProfile.objects.select_for_update().filter(user_id=user.pk).first()
        if profile is None:
            profile = StaffProfile(user_id=user.pk, role=role)
            before: dict[str, Any] = {}
        elif profile.role == role:
            return profile
        else:
            before = {"role": profile.role}
            if profile.role == StaffProfile.Role.OWNER and not owners.exclude(user_id=user.pk).exists():
                raise _last_owner()
        profile.role = role
        profile.save()
        audit_record(action="change", obj=profile, before=before, after={"role": role}, reason=_("role"))
    return profile


def staff_owner_kept() -> None:
    """Refuse (inside the change's transaction) a change that left the brand without an active owner:
    a role changed, an owner's login deactivated."""
    if not StaffProfile.objects.filter(role=StaffProfile.Role.OWNER, user__is_active=True).exists():
        raise _last_owner()


def _last_owner() -> Refused:
    return Refused(
        _("The brand must keep an owner: make someone else owner first."), field="role", code="last_owner"
    )


# --- the invitation link ------------------------------------------------------------------------


def _salt() -> str:
    return f"core.staff.invitation:{schema_current()}"


def _digest(user: Any, profile: StaffProfile) -> str:
    invited_at = profile.invited_at.isoformat() if profile.invited_at else ""
    return salted_hmac(
        _salt(), f"{user.pk}|{user.password}|{user.email}|{invited_at}", algorithm="sha256"
    ).hexdigest()[:32]


def _invited(*, token: str, users: Any) -> Any:
    try:
        payload = signing.loads(token, salt=_salt(), max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise Refused(
            _("This invitation has expired: ask the owner for a new one."), field="token", code="link_expired"
        ) from None
    except signing.BadSignature:
        raise _link_invalid() from None
    user = users.filter(pk=payload.get("u") if isinstance(payload, dict) else None, is_active=True).first()
    profile = staff_profile_of(user)
    if (
        user is None
        or profile is None
        or user.has_usable_password()
        or payload.get("h") != _digest(user, profile)
    ):
        raise _link_invalid()
    return user


def _link_invalid() -> Refused:
    return Refused(
        _("This invitation link does not work: it was mistyped, replaced by a newer one, or used already."),
        field="token",
        code="link_invalid",
    )


def _invitation_mail(*, user: Any, profile: StaffProfile, base_url: str) -> None:
    token = signing.dumps({"u": user.pk, "h": _digest(user, profile)}, salt=_salt(), compress=True)
    base = base_url.rstrip("/")
    brand = getattr(connection, "tenant", None)  # the Brand (django-tenants' backend sets it)
    name = getattr(brand, "name", "")
    context = {
        "brand_name": name,
        "role": profile.get_role_display(),
        "link": base + reverse("backoffice:staff_invitation", kwargs={"token": token}),
        "expires_at": timezone.localtime((profile.invited_at or timezone.now()) + INVITATION_MAX_AGE),
        "login_url": base + reverse("admin:login"),
    }
    body = render_to_string("core/staff/invitation_email.txt", context)
    subject = _("Your invitation to the backoffice")
    send_mail(f"{name}: {subject}" if name else subject, body, None, [user.email])
