"""Sign-up on the member site, e-mail verification and invitations (README.md, Member site).

- An e-mail new to the brand: the login and its member are created at once, and the member may use
  the site; `Member.email_verified_at` stays empty until the link sent is clicked.
- The e-mail of an existing member without a login (one the brand's systems created): the login is
  created inactive and linked to that member only when the link is clicked. Never a second member,
  and nothing linked before.
- An e-mail a login already has: nothing is written; that address is told to log in or reset its
  password, and the page says what it says after any sign-up.
- An invitation (API, backoffice) e-mails a member a link to set their password.

Links are signed (`django.core.signing`) with a salt naming the brand's schema, so a link of one
brand is no link on another's host; they expire, and they carry a digest of what they change (the
password typed, the member's login), so each works once.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from config.redis import cache_redis, redis_available, redis_failed
from core.errors import Conflict, InvalidInput, Refused
from loyalty.models import PHONE_E164, Consent, Member, Signup
from loyalty.selectors.programme import programme_settings
from loyalty.services.members import consent_set, member_upsert
from loyalty.signals import MemberChange, changes_send, members_changed
from tenants.selectors import brand_timezone, schema_current

VERIFY_MAX_AGE = timedelta(days=3)
INVITATION_MAX_AGE = timedelta(days=14)
# Sign-up e-mails one address gets per hour at most: /join/ is open to anyone, and must not be a
# way to flood someone's inbox. The page says the same when a message is held back.
SIGNUP_MAILS_PER_HOUR = 5
# What a customer may type between the digits of a phone number: "+33 6 12-34.56 (78)".
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")


@dataclass(frozen=True)
class Sent:
    """A link e-mailed: to whom, and until when it works."""

    email: str
    expires_at: datetime


@dataclass(frozen=True)
class SignupOutcome:
    """`created`: a new member, whose login may be used at once (`user`); `pending`: the e-mail of
    an existing member, linked once verified; `registered`: a login has this e-mail already."""

    outcome: str
    user: Any = None


def signup_create(
    *,
    first_name: str,
    last_name: str,
    email: str,
    password: str,
    phone: str = "",
    consents: dict[str, bool],
    terms: bool,
    ip: str | None,
    base_url: str,
) -> SignupOutcome:
    """A customer joins on the member site (`base_url`: the site's address, for the link e-mailed).
    Bad input is an InvalidInput naming each field, and nothing is written."""
    if not programme_settings().signup_open:
        raise Refused(_("Joining is by invitation only."), code="signup_closed")
    email, phone = email_normalise(email), phone_normalise(phone)
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    errors = signup_errors(
        first_name=first_name, last_name=last_name, email=email, password=password, phone=phone, terms=terms
    )
    unknown = sorted(set(consents) - set(Consent.Channel.values))
    if unknown:
        errors["consents"] = [_("Unknown channel: %(channel)s.") % {"channel": unknown[0]}]
    if errors:
        raise InvalidInput(errors)
    answers = {channel: bool(consents.get(channel)) for channel in Consent.Channel.values}
    now = timezone.now()
    user_model = get_user_model()
    with transaction.atomic():
        _email_lock(email)
        user = user_model.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).first()
        members = Member.objects.filter(email__iexact=email).exclude(status=Member.Status.ANONYMISED)
        pending = _pending_signup(user)
        if (user is not None and pending is None) or members.filter(user__isnull=False).exists():
            outcome = SignupOutcome("registered")
        else:
            if user is None:
                user = user_model(username=email, email=email)
            user.first_name, user.last_name = first_name, last_name
            user.set_password(password)
            user.is_active = not members.exists()
            user.save()
            signup = pending or Signup(user=user)
            signup.phone, signup.consents, signup.ip_address = phone, answers, ip
            signup.terms_accepted_at = signup.created_at = now
            if user.is_active:
                signup.member = _member_create(user=user, signup=signup)
            signup.save()
            outcome = SignupOutcome("created" if user.is_active else "pending", user)
    if not _signup_mail_allowed(email):
        return outcome
    if outcome.outcome == "registered":
        _mail(to=email, template="registered", subject=_("You already have an account"), base_url=base_url)
    else:
        verify_link_send(user=outcome.user, base_url=base_url)
    return outcome


def _signup_mail_allowed(email: str) -> bool:
    """True for the first SIGNUP_MAILS_PER_HOUR sign-up e-mails to this address in this brand and
    hour (counted in Redis; without Redis they are sent, and that is logged)."""
    if not redis_available():
        return True
    counter = cache.make_key(f"join-mail:{email}:{int(time.time() // 3600)}")
    pipeline = cache_redis().pipeline(transaction=False)
    pipeline.incr(counter)
    pipeline.expire(counter, 7200)
    try:
        count, _expiry = pipeline.execute()
    except redis.RedisError as error:
        redis_failed(what="sign-up e-mails are sent without their hourly limit", error=error)
        return True
    return count <= SIGNUP_MAILS_PER_HOUR


def email_normalise(email: str) -> str:
    return (email or "").strip().lower()


def phone_normalise(phone: str) -> str:
    return _PHONE_SEPARATORS.sub("", phone or "")


def signup_errors(
    *, first_name: str, last_name: str, email: str, password: str, phone: str, terms: bool
) -> dict[str, list[str]]:
    """What is wrong with a sign-up, per field (the form shows them all at once); the values
    stripped and normalised first (`email_normalise`, `phone_normalise`)."""
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    email, phone = email_normalise(email), phone_normalise(phone)
    errors: dict[str, list[str]] = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if not value:
            errors[field] = [_("This field is required.")]
        elif len(value) > 80:
            errors[field] = [_("At most 80 characters.")]
    try:
        validate_email(email)
        if len(email) > 150:
            raise ValidationError(_("At most 150 characters."))
    except ValidationError as error:
        errors["email"] = list(error.messages)
    try:
        user = get_user_model()(username=email, email=email, first_name=first_name, last_name=last_name)
        password_validation.validate_password(password, user=user)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if phone:
        try:
            PHONE_E164(phone)
        except ValidationError:
            errors["phone"] = [_("Type the number with its country code, such as +33612345678.")]
    if not terms:
        errors["terms"] = [_("Accept the terms to join.")]
    return errors


def _email_lock(email: str) -> None:
    """Serialise the sign-ups, verifications and invitations of one e-mail in this brand (two
    sign-ups racing make one login and one member)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"signup:{schema_current()}:{email.lower()}"],
        )


def _pending_signup(user: Any) -> Signup | None:
    """The sign-up of an inactive login waiting for its e-mail to be verified: signing up again
    replaces it (and the links already sent stop working, the password having changed)."""
    if user is None or user.is_active:
        return None
    return Signup.objects.filter(user=user, member__isnull=True, verified_at__isnull=True).first()


def _member_create(*, user: Any, signup: Signup) -> Member:
    """A new member for a login of the site, with the consents of its sign-up."""
    data = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
    if signup.phone:
        data["phone"] = signup.phone
    language = (translation.get_language() or "en").split("-")[0]
    member, _created = member_upsert(
        external_id=f"site-{uuid.uuid4().hex[:16]}", data={**data, "language": language}, source="site"
    )
    member.user = user
    member.save(update_fields=["user", "updated_at"])
    consent_set(
        member=member, consents=signup.consents, source="site", at=signup.created_at, ip=signup.ip_address
    )
    return member


# --- e-mail verification ---------------------------------------------------------------------------


def verify_link_send(*, user: Any, base_url: str) -> Sent:
    """E-mail the login a link that verifies its address."""
    signup = Signup.objects.get(user=user)
    token = signing.dumps({"u": user.pk, "h": _verify_digest(signup)}, salt=_salt("verify"), compress=True)
    expires_at = timezone.now() + VERIFY_MAX_AGE
    link = base_url.rstrip("/") + reverse("site-join-verify", kwargs={"token": token})
    _mail(
        to=user.email,
        template="verify",
        subject=_("Confirm your e-mail address"),
        base_url=base_url,
        link=link,
        expires_at=timezone.localtime(expires_at, brand_timezone()),
        linking=signup.member_id is None,
    )
    return Sent(email=user.email, expires_at=expires_at)


def signup_verify(*, token: str) -> Signup:
    """The e-mail of a sign-up is verified: its member marked so, or, for the e-mail of an existing
    member, the login activated and linked to that member (with the consents of the sign-up). A
    link used again answers the same; an expired, tampered or replaced one is a Refused."""
    payload = _unsign(token, purpose="verify", max_age=VERIFY_MAX_AGE)
    user_id = payload.get("u")
    if not isinstance(user_id, int):
        raise _link_invalid()
    with transaction.atomic():
        signup = Signup.objects.select_for_update().select_related("user").filter(user_id=user_id).first()
        if signup is not None and signup.verified_at is not None:
            return signup
        if signup is None or payload.get("h") != _verify_digest(signup):
            raise _link_invalid()
        user, now = signup.user, timezone.now()
        _email_lock(user.email)
        member = signup.member
        if member is None:
            member = _member_to_link(email=user.email)
            if member is None:
                user.is_active = True
                user.save(update_fields=["is_active"])
                member = _member_create(user=user, signup=signup)
            else:
                _member_link(member=member, user=user, signup=signup)
        Member.objects.filter(pk=member.pk).update(email_verified_at=now, updated_at=now)
        signup.member, signup.verified_at = member, now
        signup.save(update_fields=["member", "verified_at"])
    return signup


def _member_to_link(*, email: str) -> Member | None:
    """The existing member a verified login of this e-mail joins: the first to have joined of those
    without a login, or None if there is none (a Conflict if one of them has a login meanwhile)."""
    members = (
        Member.objects.select_for_update()
        .filter(email__iexact=email)
        .exclude(status=Member.Status.ANONYMISED)
    )
    if members.filter(user__isnull=False).exists():
        raise Conflict(_("This e-mail address already has an account: log in."), code="already_registered")
    return members.order_by("joined_at", "id").first()


def _member_link(*, member: Member, user: Any, signup: Signup) -> None:
    """Link a login to an existing member, filling the details the brand did not have."""
    user.is_active = True
    user.save(update_fields=["is_active"])
    member.user = user
    changed = ["user", "updated_at"]
    for field, value in (
        ("first_name", user.first_name),
        ("last_name", user.last_name),
        ("phone", signup.phone),
    ):
        if value and not getattr(member, field):
            setattr(member, field, value)
            changed.append(field)
    member.save(update_fields=changed)
    changes_send(members_changed, [MemberChange(member_id=member.pk, created=False)])
    consent_set(
        member=member, consents=signup.consents, source="site", at=signup.created_at, ip=signup.ip_address
    )


def _verify_digest(signup: Signup) -> str:
    user = signup.user
    return _digest("verify", f"{user.pk}|{user.password}|{user.email}|{signup.created_at.isoformat()}")


# --- invitations ---------------------------------------------------------------------------------


def invitation_send(*, member: Member, base_url: str) -> Sent:
    """E-mail the member a link to set their password and log in (`base_url`: the site's address).
    Refused for a member who cannot be invited (`invitation_check`)."""
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        invitation_check(member=member)
    token = signing.dumps(
        {"m": member.pk, "h": _invitation_digest(member)}, salt=_salt("invitation"), compress=True
    )
    expires_at = timezone.now() + INVITATION_MAX_AGE
    link = base_url.rstrip("/") + reverse("site-join-invitation", kwargs={"token": token})
    with translation.override(member.language or None):
        _mail(
            to=member.email,
            template="invitation",
            subject=_("Your invitation"),
            base_url=base_url,
            link=link,
            expires_at=timezone.localtime(expires_at, brand_timezone()),
            member=member,
        )
    return Sent(email=member.email, expires_at=expires_at)


def invitation_check(*, member: Member) -> None:
    """Refuse a member who cannot be invited: anonymised, blocked, with a login already, without an
    e-mail address, or whose address another login has."""
    if member.status == Member.Status.ANONYMISED:
        raise Conflict(_("The member is anonymised."), field="external_id", code="member_anonymised")
    if member.status == Member.Status.BLOCKED:
        raise Refused(_("The member is blocked: unblock them first."), field="status", code="member_blocked")
    if member.user_id is not None:
        raise Conflict(
            _("The member already has a login: they log in, or reset their password."),
            field="external_id",
            code="already_registered",
        )
    if not member.email:
        raise Refused(
            _("The member has no e-mail address: give them one first."), field="email", code="no_email"
        )
    if _login_of(member.email, active=True) is not None:
        raise Conflict(_("Another login has this e-mail address."), field="email", code="email_taken")


def invitation_member(*, token: str) -> Member:
    """The member an invitation link is for, if it still works (a Refused otherwise)."""
    return _invited(token=token, members=Member.objects.all())


def _invited(*, token: str, members: Any) -> Member:
    payload = _unsign(token, purpose="invitation", max_age=INVITATION_MAX_AGE)
    member = members.filter(pk=payload.get("m")).first()
    if member is None or payload.get("h") != _invitation_digest(member):
        raise _link_invalid()
    try:
        invitation_check(member=member)
    except (Conflict, Refused):
        raise _link_invalid() from None
    return member


def invitation_accept(*, token: str, password: str) -> AbstractBaseUser:
    """The invited member sets their password: their login is created (or a sign-up of theirs
    waiting for verification is completed), linked, and their e-mail counts as verified (the link
    was sent to it). Returns the login; the link works once."""
    email = invitation_member(token=token).email
    with transaction.atomic():
        _email_lock(email)
        member = _invited(token=token, members=Member.objects.select_for_update())
        user = _login_of(member.email, active=False) or get_user_model()(
            username=member.email.lower(), email=member.email.lower()
        )
        user.first_name = user.first_name or member.first_name
        user.last_name = user.last_name or member.last_name
        try:
            password_validation.validate_password(password, user=user)
        except ValidationError as error:
            raise InvalidInput({"password": list(error.messages)}) from None
        user.set_password(password)
        user.is_active = True
        user.save()
        now = timezone.now()
        Member.objects.filter(pk=member.pk).update(user=user, email_verified_at=now, updated_at=now)
        Signup.objects.filter(user=user, verified_at__isnull=True).update(member=member, verified_at=now)
    return user


def _login_of(email: str, *, active: bool) -> Any:
    """The login with this e-mail: with `active`, one that is in use; otherwise an inactive one of a
    sign-up waiting for verification."""
    logins = get_user_model().objects.filter(Q(username__iexact=email) | Q(email__iexact=email))
    if active:
        return logins.filter(is_active=True).first()
    return logins.filter(
        is_active=False, signup__member__isnull=True, signup__verified_at__isnull=True
    ).first()


def _invitation_digest(member: Member) -> str:
    return _digest("invitation", f"{member.pk}|{member.email.lower()}|{member.user_id}|{member.status}")


# --- what links and e-mails share ----------------------------------------------------------------


def email_mask(email: str) -> str:
    """An address shown without giving it away: `a***@example.com`."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _salt(purpose: str) -> str:
    return f"loyalty.signup.{purpose}:{schema_current()}"


def _digest(purpose: str, value: str) -> str:
    return salted_hmac(_salt(purpose), value, algorithm="sha256").hexdigest()[:32]


def _unsign(token: str, *, purpose: str, max_age: timedelta) -> dict:
    try:
        payload = signing.loads(token, salt=_salt(purpose), max_age=max_age)
    except signing.SignatureExpired:
        raise Refused(_("This link has expired."), field="token", code="link_expired") from None
    except signing.BadSignature:
        raise _link_invalid() from None
    return payload if isinstance(payload, dict) else {}


def _link_invalid() -> Refused:
    return Refused(
        _("This link does not work: it was mistyped, replaced by a newer one, or used already."),
        field="token",
        code="link_invalid",
    )


def _mail(*, to: str, template: str, subject: str, base_url: str, **context: Any) -> None:
    base = base_url.rstrip("/")
    brand = getattr(connection, "tenant", None)  # the Brand (django-tenants' backend sets it)
    context = {
        **context,
        "brand": brand,
        "login_url": base + reverse("login"),
        "reset_url": base + reverse("password_reset"),
    }
    body = render_to_string(f"loyalty/site/join_{template}_email.txt", context)
    name = getattr(brand, "name", "")
    send_mail(f"{name}: {subject}" if name else subject, body, None, [to])
