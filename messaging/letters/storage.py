"""Where a letter batch's files go: PRIVATE_MEDIA_ROOT/<brand schema>/, a per-brand folder as
the media's (`tenants.storage`) but never served by /media/ (the PDF holds activation codes in
clear): the API and the backoffice stream them to the brand's staff and systems only."""

from __future__ import annotations

import os

from django.conf import settings
from django.utils.functional import cached_property

from tenants.storage import BrandFileSystemStorage


class PrivateBrandStorage(BrandFileSystemStorage):
    @cached_property
    def relative_media_root(self) -> str:
        return os.path.join(settings.PRIVATE_MEDIA_ROOT, "%s")

    @property
    def base_url(self) -> str:
        return ""  # no URL serves these files

    def url(self, name: str | None) -> str:
        raise ValueError("a letter batch's files have no public URL")


_STORAGE = PrivateBrandStorage()


def letter_files_storage() -> PrivateBrandStorage:
    """The storage of the batches' PDFs and manifests (a callable: migrations stay the same)."""
    return _STORAGE
