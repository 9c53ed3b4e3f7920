"""The programme settings selector reads the brand's row (made by the migrations in the brand
template, so in every brand) and creates nothing, even when the row is missing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import ProgrammeSettings
from loyalty.selectors.programme import programme_settings


def test_programme_settings_is_one_read(db, brand_a):
    connection.set_tenant(brand_a)

    with CaptureQueriesContext(connection) as queries:
        row = programme_settings()

    assert row.pk == 1
    statements = [query["sql"].split()[0] for query in queries]
    assert [statement for statement in statements if statement != "SET"] == ["SELECT"]  # SET: search_path


def test_programme_settings_creates_no_missing_row(db, brand_a):
    connection.set_tenant(brand_a)
    ProgrammeSettings.objects.all().delete()

    with pytest.raises(ProgrammeSettings.DoesNotExist):
        programme_settings()

    assert not ProgrammeSettings.objects.exists()
