"""Per-brand files that no URL serves: PRIVATE_MEDIA_ROOT/<brand schema>/ (`var/private`), a folder
per brand as the media's (`tenants.storage`), never under /media/. Letter batches (their PDFs hold
activation codes in clear), jobs' uploads and result files (exports hold members' personal data)
live there; views stream them to the brand's staff after checking the permission."""

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
        raise ValueError("private files have no public URL")


_STORAGE = PrivateBrandStorage()


def private_storage() -> PrivateBrandStorage:
    """The current brand's private storage (a callable: models' `storage=` keep migrations the same)."""
    return _STORAGE
