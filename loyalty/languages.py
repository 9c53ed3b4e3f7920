"""The language of each request on a brand's host (README.md, Languages), in place of Django's
LocaleMiddleware, and the language switcher's view.

Member site: the logged-in member's language if the site offers it, else the language chosen with
the switcher (Django's language cookie), else the browser's (Accept-Language), else the site's
default; only the site's languages (the programme settings) are ever served. The backoffice
offers every language of the platform (settings.LANGUAGES) to staff, the brand's default first.
The REST API answers in English (its error messages are for programs and their developers).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views import i18n
from django.views.decorators.http import require_POST
from django_tenants.utils import get_public_schema_name

from core.api.middleware import API_PREFIX
from loyalty.selectors.languages import SiteLanguages, site_languages
from loyalty.services.languages import member_language_set

BACKOFFICE_PREFIX = "/backoffice/"


def _platform_languages(default: str) -> SiteLanguages:
    return SiteLanguages(offered=tuple(code for code, _name in settings.LANGUAGES), default=default)


def _browser_language(request: HttpRequest, languages: SiteLanguages) -> str | None:
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            return None
        if picked := languages.pick(code):
            return picked
    return None


def _member_of(request: HttpRequest):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.member
    except ObjectDoesNotExist:
        return None


def request_languages(request: HttpRequest) -> SiteLanguages:
    """The languages this request may be served in (the brand's site's, or the platform's in the
    backoffice); read once per request."""
    if not hasattr(request, "_site_languages"):
        languages = site_languages()
        if request.path_info.startswith(BACKOFFICE_PREFIX):
            languages = _platform_languages(languages.default)
        request._site_languages = languages  # type: ignore[attr-defined]
    return request._site_languages  # type: ignore[attr-defined]


def request_language(request: HttpRequest) -> str:
    """The language to serve `request` in (the module's docstring says which)."""
    brand = getattr(request, "tenant", None)
    if request.path_info.startswith(API_PREFIX):
        return settings.LANGUAGE_CODE
    if brand is None or brand.schema_name == get_public_schema_name():
        return translation.get_language_from_request(request)
    languages = request_languages(request)
    member = _member_of(request)
    return (
        (languages.pick(member.language) if member is not None else None)
        or languages.pick(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
        or _browser_language(request, languages)
        or languages.default
    )


class SiteLanguageMiddleware:
    """Activates `request_language` (after the authentication middleware: a member's own language
    wins), says it in Content-Language, and varies the answer on what chose it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        if not request.path_info.startswith(API_PREFIX):
            patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The switcher's form (themes/_language_switch.html): Django's `set_language` (the cookie, the
    redirect to a `next` of this host), for one of the site's languages only (staff: any of the
    platform's, for the backoffice); a logged-in member's choice is stored as their language."""
    site = request_languages(request)
    languages = _platform_languages(site.default) if request.user.is_staff else site
    code = languages.pick(request.POST.get("language"))
    if code is None:
        return HttpResponseBadRequest(gettext("language: not a language of this site"))
    member = _member_of(request)
    if member is not None and site.pick(code):
        member_language_set(member=member, language=code)
    return i18n.set_language(request)
