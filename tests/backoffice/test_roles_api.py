"""API key scopes (README "API key scopes"): every operation of the API names its area; a key
reads an area with `<area>:read` and writes it with `<area>:write`, else 403 `scope_missing`
naming the scope; keys made before scopes, and `*`, reach everything. The API key page of the
backoffice is the owner's alone, and sets the scopes."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_tenants.utils import schema_context

from core.apikeys import api_key_create
from core.models import ApiKey, AuditEntry, StaffProfile
from core.models.apikeys import API_SCOPE_AREAS
from tests.conftest import TEST_PASSWORD, host_of
from tests.factories import member_make
from tests.support import ApiClient, error_of

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
WRITE_METHODS = ("post", "put", "patch", "delete")


def _api_operations() -> list[tuple[str, type, list[str]]]:
    """(path with its values filled, view class, methods) of every route under /api/v1/."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
                if route.startswith("api/v1/") and view is not None and hasattr(view, "api_scope"):
                    path = "/" + _CONVERTER.sub(lambda m: "1" if m.group(1) == "int" else "x", route)
                    methods = [m for m in view.http_method_names if hasattr(view, m) and m != "options"]
                    found.append((path.replace("^", "").replace("$", ""), view, methods))

    walk(get_resolver().url_patterns, "")
    return found


OPERATIONS = _api_operations()


def test_every_api_view_names_a_known_area():
    assert len(OPERATIONS) > 40  # the URLconf was read
    undeclared = [
        f"{path} {view.__name__}" for path, view, _ in OPERATIONS if view.api_scope not in API_SCOPE_AREAS
    ]
    assert not undeclared, undeclared


def _key(brand, *scopes: str) -> ApiClient:
    with schema_context(brand.schema_name):
        _, key = api_key_create(name="scoped", scopes=list(scopes))
    return ApiClient(brand=brand, key=key, raise_errors=False)


@pytest.mark.parametrize(
    ("path", "view", "methods"), OPERATIONS, ids=[f"{p} {v.__name__}" for p, v, _ in OPERATIONS]
)
def test_each_operation_needs_its_area_scope(db, brand_a, path, view, methods):
    """A key with every other area's scopes is refused, naming the scope; the area's own read
    scope reads, and writes nothing."""
    others = [
        f"{area}:{access}"
        for area in API_SCOPE_AREAS
        if area != view.api_scope
        for access in ("read", "write")
    ]
    outsider = _key(brand_a, *others)
    reader = _key(brand_a, f"{view.api_scope}:read")
    for method in methods:
        access = "read" if method in ("get", "head") else "write"
        scope = f"{view.api_scope}:{access}"
        response = outsider.get(path) if access == "read" else outsider.send(method, path, {})
        error = error_of(response, 403)
        assert error["code"] == "scope_missing" and scope in error["message"], (method, path, error)
        response = reader.get(path) if access == "read" else reader.send(method, path, {})
        if access == "read":
            assert response.status_code != 403, (method, path, response.content[:300])
        else:
            error = error_of(response, 403)
            assert error["code"] == "scope_missing" and scope in error["message"]


def test_read_and_write_scopes_of_one_area(db, brand_a):
    connection.set_tenant(brand_a)
    member = member_make("scoped-1", points=50)
    path = f"/api/v1/members/{member.external_id}"
    reader, writer = _key(brand_a, "members:read"), _key(brand_a, "members:read", "members:write")
    assert reader.get(path).status_code == 200
    adjustment = {"points": 5, "reason": "goodwill"}
    error = error_of(reader.post(f"{path}/adjustments", adjustment), 403)
    assert error == {
        "field": "Authorization",
        "message": "Authorization: this API key does not have the scope members:write",
        "code": "scope_missing",
    }
    assert writer.post(f"{path}/adjustments", adjustment).status_code == 201
    write_only = _key(brand_a, "members:write")
    assert error_of(write_only.get(path), 403)["code"] == "scope_missing"  # writing is not reading
    assert _key(brand_a, "*").get(path).status_code == 200


def test_keys_made_before_scopes_keep_every_scope(db, brand_a, api_a):
    """The migration gave the existing keys `*` (its default), as a key made without scopes has."""
    connection.set_tenant(brand_a)
    assert ApiKey._meta.get_field("scopes").get_default() == ["*"]
    assert [scopes for scopes in ApiKey.objects.values_list("scopes", flat=True)] == [["*"]]
    for path in ("/api/v1/programme", "/api/v1/theme", "/api/v1/gifts", "/api/v1/webhook-endpoints"):
        assert api_a.get(path).status_code == 200, path


def test_unknown_or_no_scopes_are_refused_and_stored_nowhere(db, brand_a):
    from core.errors import InvalidInput

    connection.set_tenant(brand_a)
    for scopes in ([], ["members:delete"], ["everything"]):
        with pytest.raises(InvalidInput) as raised:
            api_key_create(name="bad", scopes=scopes)
        assert raised.value.field == "scopes"
    assert not ApiKey.objects.filter(name="bad").exists()


def _staff_client(brand, role: str) -> Client:
    user = get_user_model().objects.create_user(
        username=f"{role}-keys@staff.example", password=TEST_PASSWORD, is_staff=True
    )
    StaffProfile.objects.create(user=user, role=role)
    client = Client(HTTP_HOST=host_of(brand))
    client.force_login(user)
    return client


def test_the_api_key_page_is_the_owners_and_sets_scopes_audited(db, brand_a):
    connection.set_tenant(brand_a)
    for role in ("manager", "support", "sales_rep", "analyst"):
        client = _staff_client(brand_a, role)
        assert client.get(reverse("admin:core_apikey_changelist")).status_code == 403
        response = client.post(reverse("admin:core_apikey_add"), {"name": "x", "rate_limit_per_minute": 60})
        assert response.status_code == 403
    owner = _staff_client(brand_a, "owner")
    form = {"name": "Shop", "rate_limit_per_minute": 600, "scopes": ["catalog:read", "orders:write"]}
    response = owner.post(reverse("admin:core_apikey_add"), form)
    assert response.status_code == 200
    created = ApiKey.objects.get(name="Shop")
    assert created.scopes == ["catalog:read", "orders:write"]
    key = re.search(r"lk_[0-9a-f]+_[\w-]+", response.content.decode()).group(0)
    client = ApiClient(brand=brand_a, key=key, raise_errors=False)
    assert client.get("/api/v1/gifts").status_code == 200
    assert error_of(client.get("/api/v1/rules"), 403)["code"] == "scope_missing"
    entry = AuditEntry.objects.get(content_type__model="apikey", object_id=str(created.pk), action="create")
    assert (
        entry.after["scopes"] == ["catalog:read", "orders:write"]
        and entry.actor.username == "owner-keys@staff.example"
    )
    # Changed on its page: the next request is answered with the new scopes.
    change = {"name": "Shop", "rate_limit_per_minute": 600, "scopes": ["catalog:read", "programme:read"]}
    assert owner.post(reverse("admin:core_apikey_change", args=[created.pk]), change).status_code == 302
    assert client.get("/api/v1/rules").status_code == 200
    # A bad choice names the field and changes nothing.
    response = owner.post(reverse("admin:core_apikey_change", args=[created.pk]), {**change, "scopes": []})
    assert response.status_code == 200 and "scopes" in response.context["adminform"].form.errors
    created.refresh_from_db()
    assert created.scopes == ["catalog:read", "programme:read"]
    # Revoked from the list: refused from the next request, audited.
    revoke = {"action": "revoke", "_selected_action": [created.pk], "index": "0"}
    assert owner.post(reverse("admin:core_apikey_changelist"), revoke).status_code == 302
    assert client.get("/api/v1/gifts").status_code == 401
    assert AuditEntry.objects.filter(
        object_id=str(created.pk), content_type__model="apikey", reason="revoked"
    ).exists()


def test_the_api_schema_names_each_operations_scope():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    keyed = [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("security")
    ]
    assert len(keyed) > 40
    for method, path, operation in keyed:
        scope = operation.get("x-api-scope", "")
        access = "read" if method in ("get", "head") else "write"
        assert scope.endswith(f":{access}") and scope.split(":")[0] in API_SCOPE_AREAS, (method, path)
        assert f"**API key scope**: `{scope}`." in operation["description"]
    member_get = schema["paths"]["/api/v1/members/{external_id}"]["get"]
    assert "scope_missing" in member_get["responses"]["403"]["description"]
