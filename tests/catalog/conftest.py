from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def in_brand(db, brand_a):
    """The session brand "alpha" as the current schema (writes rolled back after the test)."""
    connection.set_tenant(brand_a)
    return brand_a
