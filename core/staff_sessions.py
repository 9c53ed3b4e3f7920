"""Staff sessions (README "Staff accounts"): every request of a logged-in staff user passes here.

- Idle sessions end: a staff session with no request for `StaffSettings.idle_minutes` is logged out
  at its next request (the backoffice's pages then ask for the login again). The time of the last
  request is written in the session at most every `SEEN_EVERY` seconds, not at every request (a
  session may so end up to that much early).
- The second factor comes before anything else: a staff user with a confirmed TOTP app
  (`core.totp`) reaches only the code page until their session passed it; when the owner made it
  mandatory, a staff user without one reaches only the setup page. Logging in anywhere (the
  backoffice's login or the site's) leads there; logging out stays possible.

Brands' staff only: the operator console (public schema) has its own login and no staff profiles."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from core.models import StaffSettings
from core.roles import staff_settings_get
from core.staff import staff_profile_of
from tenants.selectors import schema_current

SEEN = "staff_seen"  # epoch seconds of the session's last request written
VERIFIED = "staff_second_factor"  # the session passed the code (or set the app up)
SEEN_EVERY = 30
# Paths any staff session reaches, whatever its second factor (files, the language switch).
_OPEN_PREFIXES = ("/static/", "/media/", "/theme/", "/favicon.ico", "/i18n/")


def second_factor_step(request: HttpRequest, *, rules: StaffSettings | None = None) -> str | None:
    """What the staff session must do before anything else: "code", "setup" or nothing (`rules`:
    the staff settings, when already read)."""
    if request.session.get(VERIFIED):
        return None
    profile = staff_profile_of(request.user)
    if profile is not None and profile.totp_confirmed_at is not None:
        return "code"
    if (rules or staff_settings_get()).two_factor_required:
        return "setup"
    return None


def second_factor_passed(request: HttpRequest) -> None:
    """The session's second factor is done: a new session key, as a login gives."""
    request.session.cycle_key()
    request.session[VERIFIED] = True


class StaffSessionMiddleware:
    """After the authentication and messages middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return self.get_response(request)
        if request.path.startswith(_OPEN_PREFIXES) or schema_current() == get_public_schema_name():
            return self.get_response(request)  # operators (public schema) have no staff profile
        now = int(time.time())
        seen = request.session.get(SEEN)
        rules = staff_settings_get()
        if isinstance(seen, int) and now - seen > rules.idle_minutes * 60:
            logout(request)
            messages.info(request, _("Your session ended after a while without activity: log in again."))
            if request.path.startswith(reverse("admin:index")):
                return redirect(f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}")
            return self.get_response(request)
        if not isinstance(seen, int) or now - seen >= SEEN_EVERY:
            request.session[SEEN] = now
        step = second_factor_step(request, rules=rules)
        if step is not None:
            target = reverse("backoffice:two_factor" if step == "code" else "backoffice:two_factor_setup")
            allowed = {target, reverse("admin:logout"), reverse("logout")}
            if request.path not in allowed:
                return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
