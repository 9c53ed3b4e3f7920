"""The member site's pages that belong to no feature app: home, and files uploaded for this brand."""

from __future__ import annotations

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.static import serve


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "themes/home.html")


def brand_media(request: HttpRequest, path: str) -> HttpResponse:
    """Serve an uploaded file from the current brand's own folder only (404 for any other's)."""
    try:
        return serve(request, path, document_root=default_storage.location)
    except SuspiciousFileOperation as error:  # a path climbing out of the brand's folder
        raise Http404("No such file") from error
