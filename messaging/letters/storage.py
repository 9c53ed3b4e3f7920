"""Where a letter batch's files go: the brand's private storage (`core.storage`,
PRIVATE_MEDIA_ROOT/<brand schema>/), never served by /media/ (the PDF holds activation codes in
clear): the API and the backoffice stream them to the brand's staff and systems only."""

from __future__ import annotations

from core.storage import PrivateBrandStorage, private_storage


def letter_files_storage() -> PrivateBrandStorage:
    """The storage of the batches' PDFs and manifests (a callable: migrations stay the same)."""
    return private_storage()
