"""The member site's pages that belong to no feature app: the theme's text pages, the brand's
compiled CSS, and files uploaded for this brand."""

from __future__ import annotations

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import get_language
from django.views.decorators.http import require_safe
from django.views.static import serve

from themes.pages import PAGES
from themes.selectors import theme_data

# The file's name is a hash of its content: a new theme is a new URL, so browsers keep it for good.
CSS_CACHE_CONTROL = "public, max-age=31536000, immutable"


def text_page(request: HttpRequest, slug: str) -> HttpResponse:
    """One of the theme's texts (rules, FAQ, legal notice...) in the page's language."""
    if slug not in PAGES:
        raise Http404("No such page")
    key, title = PAGES[slug]
    html = theme_data().text(get_language() or "en", key)
    if not html:
        raise Http404("No such page")
    return render(request, "themes/text_page.html", {"page_title": title, "page_html": html})


@require_safe
def theme_css(request: HttpRequest, digest: str) -> HttpResponse:
    """The brand's compiled CSS, at the hash of its current content only: another brand's hash, or
    an old one of this brand, is a 404 (the page being served links the current one)."""
    theme = theme_data()
    if digest != theme.css_hash:
        raise Http404("No such stylesheet")
    response = HttpResponse(theme.css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = CSS_CACHE_CONTROL
    return response


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico (asked by browsers whatever the page links): the theme's favicon, or the
    bundled default when the theme has none."""
    image = theme_data().favicon
    return HttpResponseRedirect(image.url if image is not None else static("themes/favicon.svg"))


def brand_media(request: HttpRequest, path: str) -> HttpResponse:
    """Serve an uploaded file from the current brand's own folder only (404 for any other's)."""
    try:
        return serve(request, path, document_root=default_storage.location)
    except SuspiciousFileOperation as error:  # a path climbing out of the brand's folder
        raise Http404("No such file") from error
