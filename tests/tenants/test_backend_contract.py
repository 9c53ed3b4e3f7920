"""What `tenants/postgresql_backend/base.py` relies on in django-tenants' backend, beyond its public
API: the version pinned in pyproject.toml, the methods it overrides or calls with their signatures,
and the places that forget the search path it keeps. An upgrade that changes them fails here, and
the override is then read again against the new version before the pin moves."""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from django.db.backends.postgresql import base as django_base
from django_tenants.postgresql_backend import base as upstream

from tenants.postgresql_backend.base import DatabaseWrapper

ROOT = Path(__file__).resolve().parents[2]


def _pinned() -> str:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in dependencies if re.match(r"django-tenants\b", d)]
    exact = re.fullmatch(r"django-tenants==(\d+\.\d+\.\d+)", pin)
    assert exact, f"django-tenants must be pinned to one version: {pin!r}"
    return exact.group(1)


def test_django_tenants_is_pinned_to_the_installed_version():
    assert version("django-tenants") == _pinned()


def test_the_override_subclasses_django_tenants_backend_on_djangos():
    assert DatabaseWrapper.__mro__[1:3] == (upstream.DatabaseWrapper, django_base.DatabaseWrapper)


@pytest.mark.parametrize(
    ("owner", "name", "parameters"),
    [
        (upstream.DatabaseWrapper, "set_tenant", ["self", "tenant", "include_public"]),
        (upstream.DatabaseWrapper, "_get_cursor_search_paths", ["self"]),
        (upstream.DatabaseWrapper, "_handle_search_path", ["self", "cursor"]),
        (upstream.DatabaseWrapper, "rollback", ["self"]),
        (upstream.DatabaseWrapper, "savepoint_rollback", ["self", "sid"]),
        (upstream.DatabaseWrapper, "close", ["self"]),
        (django_base.DatabaseWrapper, "is_usable", ["self"]),
    ],
)
def test_the_methods_overridden_or_called_keep_their_signature(owner, name, parameters):
    method = owner.__dict__[name]
    assert list(inspect.signature(method).parameters) == parameters
    if name == "set_tenant":
        assert inspect.signature(method).parameters["include_public"].default is True


@pytest.mark.parametrize("name", ["__init__", "set_tenant", "rollback", "savepoint_rollback", "close"])
def test_the_kept_search_path_is_forgotten_where_the_override_expects(name):
    source = inspect.getsource(upstream.DatabaseWrapper.__dict__[name])
    assert "self.search_path_set_schemas = None" in source


def test_a_kept_search_path_skips_the_set_statement_only_with_limit_set_calls(settings):
    source = inspect.getsource(upstream.DatabaseWrapper._handle_search_path)
    assert "if get_limit_set_calls() and self.search_path_set_schemas:" in source
    assert "self.search_path_set_schemas = search_paths" in source
    assert settings.TENANT_LIMIT_SET_CALLS is True
