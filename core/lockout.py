"""Brute-force protection of every password login (member site, backoffice, operator console) and
of API keys: one mechanism, stored in PostgreSQL's public schema, so it holds with Redis down and
the operator sees every brand's lockouts in one place.

- Logins: the authentication backend of the project (`LockoutModelBackend`, Django's ModelBackend
  with the check around it) records each attempt *before* the password is checked and deletes the
  record when the password proves right, so attempts sent at the same time count each other. The
  6th failure within 15 minutes on one account locks that account's login for 15 minutes, the right
  password included; the 21st failure from one address (on any accounts of the brand) locks that
  address. A completed password reset or the operator lifts an account's lockout.
- API keys: the 21st unknown key within a minute from one address blocks, for a minute, every key
  from it that the web process does not already serve (429 before the key is read; see
  `core.api.auth`).

Everything is keyed by the schema of the brand (`public` for operators): a lockout in one brand
never touches the same e-mail or address in another. Attempts for the same account or address are
serialized by a transaction-scoped advisory lock, account first, then address.

Presentation: the login forms say why (`LockoutAuthenticationForm`, `LockoutAdminAuthenticationForm`)
and `LoginLockoutMiddleware` answers 429, in JSON to clients that prefer it."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_tenants.utils import get_public_schema_name
from unfold.forms import AuthenticationForm as UnfoldAuthenticationForm

from core.roles import role_allows, role_permissions, user_role
from tenants.models import AuthFailure, Brand, Lockout
from tenants.selectors import schema_current


@dataclass(frozen=True)
class Policy:
    kind: str
    # Failures allowed per account (None: not counted per account) and per address in `window`;
    # the one after locks for `duration`.
    account_failures: int | None
    ip_failures: int
    window: timedelta
    duration: timedelta


LOGIN_POLICY = Policy(
    kind=AuthFailure.Kind.LOGIN,
    account_failures=5,
    # An office or a phone network behind one address may mistype a few times without locking
    # its neighbours out; an address trying many accounts is stopped after this many.
    ip_failures=20,
    window=timedelta(minutes=15),
    duration=timedelta(minutes=15),
)
API_KEY_POLICY = Policy(
    kind=AuthFailure.Kind.API_KEY,
    account_failures=None,
    ip_failures=20,
    window=timedelta(minutes=1),
    duration=timedelta(minutes=1),
)
# Failures are needed only within their window, lockouts are kept a while for the console's history.
FAILURES_KEPT = timedelta(days=1)
LOCKOUTS_KEPT = timedelta(days=30)
PASSWORD_RESET = "password reset"


def client_ip(request: HttpRequest | None) -> str | None:
    """The address the request came from, or None if there is none usable: REMOTE_ADDR, or behind
    TRUSTED_PROXY_COUNT proxies the address the first of them saw (the entry of X-Forwarded-For that
    many from the right: the ones on its left are the client's to write, so they are not read)."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= proxies and forwarded[-proxies]:
            address = forwarded[-proxies]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        # Any IPv6 client holds a whole /64 and could change address at every attempt: count the network.
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address)
    return str(ip)


def account_key(username: str) -> str:
    """The account an attempt is counted against: the username as typed, case and spaces aside, so
    `Ana@X.example ` and `ana@x.example` share one counter."""
    return username.strip().lower()[:254]


# --- selectors --------------------------------------------------------------------------------------


def _active(*, now: datetime) -> QuerySet[Lockout]:
    return Lockout.objects.filter(locked_until__gt=now, lifted_at__isnull=True)


def lockout_find(
    *, schema_name: str, kind: str, account: str = "", ip: str | None = None, now: datetime | None = None
) -> Lockout | None:
    """The lockout that refuses an attempt on `account` from `ip` now, the longest first."""
    subjects = Q(pk__in=[])
    if account:
        subjects |= Q(scope=Lockout.Scope.ACCOUNT, account=account)
    if ip:
        subjects |= Q(scope=Lockout.Scope.IP, ip=ip)
    return (
        _active(now=now or timezone.now())
        .filter(subjects, schema_name=schema_name, kind=kind)
        .order_by("-locked_until")
        .first()
    )


def lockout_list_active(*, now: datetime | None = None) -> list[Lockout]:
    """Every brand's lockouts in force, newest first, each with `brand_name` (None for operators)."""
    brand_name = Brand.objects.filter(schema_name=OuterRef("schema_name")).values("name")[:1]
    return list(_active(now=now or timezone.now()).annotate(brand_name=Subquery(brand_name)))


def lockout_seconds_left(*, lockout: Lockout, now: datetime | None = None) -> int:
    return max(1, math.ceil((lockout.locked_until - (now or timezone.now())).total_seconds()))


# --- services ---------------------------------------------------------------------------------------


def _serialize(*, schema_name: str, kind: str, account: str, ip: str | None) -> None:
    """Attempts on the same account, or from the same address, wait for each other (until commit)."""
    subjects = ([f"account:{account}"] if account else []) + ([f"ip:{ip}"] if ip else [])
    with connection.cursor() as cursor:
        for subject in subjects:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"lockout:{schema_name}:{kind}:{subject}"],
            )


def _lock_if_over(
    *, policy: Policy, schema_name: str, account: str, ip: str | None, now: datetime
) -> Lockout | None:
    """A new lockout if the failures recorded in the window are more than the policy allows."""
    recent = AuthFailure.objects.filter(schema_name=schema_name, kind=policy.kind, at__gt=now - policy.window)
    checks = []
    if account and policy.account_failures is not None:
        checks.append((Lockout.Scope.ACCOUNT, policy.account_failures, recent.filter(account=account)))
    if ip:
        checks.append((Lockout.Scope.IP, policy.ip_failures, recent.filter(ip=ip)))
    for scope, allowed, failures in checks:
        count = failures.count()
        if count > allowed:
            return Lockout.objects.create(
                schema_name=schema_name,
                kind=policy.kind,
                scope=scope,
                account=account if scope == Lockout.Scope.ACCOUNT else "",
                ip=ip,
                failures=count,
                locked_at=now,
                locked_until=now + policy.duration,
            )
    return None


def lockouts_purge(*, now: datetime | None = None) -> tuple[int, int]:
    """Forget failures past their use and lockouts past the console's history (beat, hourly):
    how many of each went."""
    now = now or timezone.now()
    with transaction.atomic():
        failures, _ = AuthFailure.objects.filter(at__lt=now - FAILURES_KEPT).delete()
        lockouts, _ = Lockout.objects.filter(locked_until__lt=now - LOCKOUTS_KEPT).delete()
    return failures, lockouts


def login_attempt_begin(*, schema_name: str, username: str, ip: str | None) -> tuple[Lockout | None, int]:
    """Before a password is checked: the lockout that refuses the attempt, or None and the id of the
    failure recorded for it (`login_attempt_end` says how it went)."""
    now = timezone.now()
    account = account_key(username)
    with transaction.atomic():
        _serialize(schema_name=schema_name, kind=LOGIN_POLICY.kind, account=account, ip=ip)
        lockout = lockout_find(
            schema_name=schema_name, kind=LOGIN_POLICY.kind, account=account, ip=ip, now=now
        )
        # Attempts still being checked count: the one after them is refused if they all fail.
        lockout = lockout or _lock_if_over(
            policy=LOGIN_POLICY, schema_name=schema_name, account=account, ip=ip, now=now
        )
        if lockout is not None:
            return lockout, 0
        failure = AuthFailure.objects.create(
            schema_name=schema_name, kind=LOGIN_POLICY.kind, account=account, ip=ip, at=now
        )
    return None, failure.pk


def login_attempt_end(*, failure_id: int, succeeded: bool) -> Lockout | None:
    """The password proved right (its record goes) or wrong: then the lockout in force after this
    failure, if it is one too many (or a concurrent attempt locked meanwhile)."""
    if succeeded:
        # The owner's earlier mistypes on this account are forgiven with it (and no longer count for
        # the address); failures on other accounts from the same address still do.
        failure = AuthFailure.objects.filter(pk=failure_id).first()
        if failure is not None:
            AuthFailure.objects.filter(
                schema_name=failure.schema_name, kind=failure.kind, account=failure.account
            ).delete()
        return None
    now = timezone.now()
    failure = AuthFailure.objects.filter(pk=failure_id).first()
    if failure is None:  # lifted meanwhile (a password reset, the operator)
        return None
    with transaction.atomic():
        _serialize(
            schema_name=failure.schema_name, kind=LOGIN_POLICY.kind, account=failure.account, ip=failure.ip
        )
        schema_name, account, ip = failure.schema_name, failure.account, failure.ip
        lockout = lockout_find(
            schema_name=schema_name, kind=LOGIN_POLICY.kind, account=account, ip=ip, now=now
        ) or _lock_if_over(policy=LOGIN_POLICY, schema_name=schema_name, account=account, ip=ip, now=now)
    return lockout


def api_key_locked_until(*, schema_name: str, ip: str | None) -> datetime | None:
    """Until when API keys from `ip` on this brand are answered 429 before being read (uncounted).
    Asked for every key not cached: one plain query on the public table (no ORM compilation)."""
    if ip is None:
        return None
    table = f"{connection.ops.quote_name(get_public_schema_name())}.{Lockout._meta.db_table}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT max(locked_until) FROM {table} WHERE schema_name = %s AND kind = %s "  # noqa: S608
            "AND scope = %s AND ip = %s AND locked_until > %s AND lifted_at IS NULL",
            [schema_name, API_KEY_POLICY.kind, Lockout.Scope.IP, ip, timezone.now()],
        )
        return cursor.fetchone()[0]


def api_key_failure_record(*, schema_name: str, ip: str | None) -> Lockout | None:
    """An unknown or revoked key was presented from `ip`: the lockout it sets off, if any."""
    if ip is None:
        return None
    now = timezone.now()
    kind = API_KEY_POLICY.kind
    with transaction.atomic():
        _serialize(schema_name=schema_name, kind=kind, account="", ip=ip)
        lockout = lockout_find(schema_name=schema_name, kind=kind, ip=ip, now=now)
        if lockout is None:
            AuthFailure.objects.create(schema_name=schema_name, kind=kind, ip=ip, at=now)
            lockout = _lock_if_over(
                policy=API_KEY_POLICY, schema_name=schema_name, account="", ip=ip, now=now
            )
    return lockout


def lockout_lift(*, lockout: Lockout, lifted_by: str) -> None:
    """Lift a lockout now and forget the failures that led to it, so the next one does not lock again."""
    now = timezone.now()
    with transaction.atomic():
        Lockout.objects.filter(pk=lockout.pk, lifted_at__isnull=True).update(
            lifted_at=now, lifted_by=lifted_by
        )
        failures = AuthFailure.objects.filter(schema_name=lockout.schema_name, kind=lockout.kind)
        if lockout.scope == Lockout.Scope.ACCOUNT:
            failures.filter(account=lockout.account).delete()
        else:
            failures.filter(ip=lockout.ip).delete()


def login_lockout_clear(*, schema_name: str, username: str, cleared_by: str = PASSWORD_RESET) -> int:
    """The account proved to be its owner's (a completed password reset): its lockouts are lifted
    and its failures forgotten. Lockouts of addresses stay. Returns the number of lockouts lifted."""
    now = timezone.now()
    account = account_key(username)
    with transaction.atomic():
        lifted = (
            _active(now=now)
            .filter(
                schema_name=schema_name, kind=LOGIN_POLICY.kind, scope=Lockout.Scope.ACCOUNT, account=account
            )
            .update(lifted_at=now, lifted_by=cleared_by)
        )
        AuthFailure.objects.filter(schema_name=schema_name, kind=LOGIN_POLICY.kind, account=account).delete()
    return lifted


# --- the wiring: backend, forms, middleware --------------------------------------------------------


class LockoutModelBackend(ModelBackend):
    """Django's ModelBackend for every `authenticate()` of the project, with the lockout around it.

    A locked account or address raises PermissionDenied (no other backend is asked, the password is
    not checked). The lockout is put on the request (`request.login_lockout`) for the form's
    message and the middleware's 429."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not username or password is None:
            return None
        lockout, failure_id = login_attempt_begin(
            schema_name=schema_current(), username=username, ip=client_ip(request)
        )
        if lockout is None:
            user = super().authenticate(request, username=username, password=password, **kwargs)
            stored = account_key(username)  # logins are stored in lower case: `Ana@X.example ` is one
            if user is None and stored != username:
                user = super().authenticate(request, username=stored, password=password, **kwargs)
            lockout = login_attempt_end(failure_id=failure_id, succeeded=user is not None)
            if lockout is None:
                return user
        if request is not None:
            request.login_lockout = lockout
        raise PermissionDenied

    # Permissions: a brand's staff user has their role's (`core.roles`), besides any Django
    # permission rows of their own; superusers pass everything before a backend is asked.

    def get_all_permissions(self, user_obj, obj=None):
        permissions = super().get_all_permissions(user_obj, obj)
        role = user_role(user_obj)
        return permissions | role_permissions(role) if role else permissions

    def has_perm(self, user_obj, perm, obj=None):
        role = user_role(user_obj)
        if role and role_allows(role=role, perm=perm):
            return True
        return super().has_perm(user_obj, perm, obj)


def lockout_message(*, lockout: Lockout) -> str:
    minutes = math.ceil(lockout_seconds_left(lockout=lockout) / 60)
    until = timezone.localtime(lockout.locked_until)
    wait = f"Try again in {minutes} minute{'s' if minutes != 1 else ''} (at {until:%H:%M %Z})"
    if lockout.scope == Lockout.Scope.IP:
        return f"Too many failed logins from your address: logins from it are refused for now. {wait}."
    return (
        f"Too many failed logins: this account is locked for now, even with the right password. {wait}, "
        "or reset your password to unlock it at once."
    )


class LockoutFormMixin(AuthenticationForm):
    """A login form that says the account or address is locked instead of "wrong password"."""

    def get_invalid_login_error(self) -> ValidationError:
        lockout = getattr(self.request, "login_lockout", None)
        if lockout is not None:
            return ValidationError(lockout_message(lockout=lockout), code="locked_out")
        return super().get_invalid_login_error()


class LockoutAuthenticationForm(LockoutFormMixin, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(LockoutFormMixin, UnfoldAuthenticationForm):
    """The backoffice's login: unfold's (its inputs styled), saying when the account is locked."""


class LoginLockoutMiddleware:
    """A login refused by a lockout answers 429 with Retry-After: the login page with its message,
    or the one error shape of the API (`core.api.errors`) to a client that prefers JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        lockout = getattr(request, "login_lockout", None)
        if lockout is None:
            return response
        if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
            # Imported here: core.api imports this module (the API-key throttle).
            from core.api.errors import error_response

            message = lockout_message(lockout=lockout)
            response = error_response(status=429, message=message, code="locked_out", field="username")
        else:
            response.status_code = 429
        response["Retry-After"] = str(lockout_seconds_left(lockout=lockout))
        return response
