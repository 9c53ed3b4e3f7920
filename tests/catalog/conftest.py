from __future__ import annotations

import pytest
import pytest_django.fixtures
from django.db import connection

_databases_for_test = pytest_django.fixtures._get_databases_for_test


def _databases_for_test_with_live_db(test):
    """pytest-django sets up the test database only for tests that ask for `db` (or a marker): a run
    of `live_db`/`fresh_brand` tests alone would otherwise use the development database. Tests using
    `live_db` need the test database too (without the wrapping transaction)."""
    if "live_db" in getattr(test, "fixturenames", ()):
        return ["default"], False
    return _databases_for_test(test)


pytest_django.fixtures._get_databases_for_test = _databases_for_test_with_live_db


@pytest.fixture(autouse=True)
def _test_database_only():
    assert connection.settings_dict["NAME"].startswith("test_"), "not on the test database"


@pytest.fixture
def in_brand(db, brand_a):
    """The session brand "alpha" as the current schema (writes rolled back after the test)."""
    connection.set_tenant(brand_a)
    return brand_a


from tests.loyalty.test_api_support import api_a, api_b  # noqa: E402, F401 - the API's own test clients
