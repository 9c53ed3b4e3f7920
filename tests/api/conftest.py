"""A brand of its own served by a live threaded server, with an API key: what a brand's developer
has when they start (the conformance and the getting-started tests). One per module: the brand is
committed (the server's threads must see it) and dropped after the module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.db import connection

from tests.conftest import brand_make, host_of, wsgi_served


@dataclass(frozen=True)
class LiveBrand:
    brand: object
    host: str  # the brand's host name, for a `Host` header
    port: int
    key: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def live_brand(django_db_setup, django_db_blocker):
    """A committed brand, its API on a live server, and a key of it whose rate limit the tests do
    not reach."""
    from tests.factories import key_make

    with django_db_blocker.unblock():
        brand = brand_make(f"t-{uuid.uuid4().hex[:10]}")
        key = key_make(brand, name="developer", rate_limit_per_minute=100_000)
        try:
            with wsgi_served() as port:
                yield LiveBrand(brand=brand, host=host_of(brand), port=port, key=key)
        finally:
            connection.set_schema_to_public()
            brand.delete(force_drop=True)
