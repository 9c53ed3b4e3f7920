"""ApiKey moved from loyalty to core with state-only migrations (core 0001, loyalty 0012): a brand
migrated before the move keeps its keys, which still authenticate, and the permissions on API keys
its staff were given."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.apikeys import api_key_authenticate
from core.models import ApiKey
from tests.support import ApiClient

MOVE = ("loyalty", "0012_apikey_moves_to_core")
OLD_KEY = "lk_0ldk3y00_created-before-the-move"


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets(executor.loader.graph))


def test_a_key_and_a_permission_from_before_the_move_survive_it(fresh_brand):
    connection.set_tenant(fresh_brand)
    # Back to before the move: loyalty's state has ApiKey, core has no migration applied.
    _migrate(
        lambda graph: [*(key for key in graph.node_map[MOVE].parents if key[0] == "loyalty"), ("core", None)]
    )
    ContentType.objects.clear_cache()
    old_type = ContentType.objects.get(app_label="loyalty", model="apikey")
    assert not ContentType.objects.filter(app_label="core", model="apikey").exists()
    staff = Group.objects.create(name="integrations")
    staff.permissions.add(Permission.objects.get(content_type=old_type, codename="view_apikey"))
    with connection.cursor() as cursor:  # as the loyalty app wrote keys
        cursor.execute(
            "INSERT INTO loyalty_apikey (name, prefix, key_hash, rate_limit_per_minute, created_at) "
            "VALUES ('ERP', '0ldk3y00', %s, 6000, now())",
            [hashlib.sha256(OLD_KEY.encode()).hexdigest()],
        )

    _migrate(lambda graph: graph.leaf_nodes())
    ContentType.objects.clear_cache()

    assert api_key_authenticate(key=OLD_KEY).name == "ERP"
    assert ContentType.objects.get_for_model(ApiKey).pk == old_type.pk
    assert not ContentType.objects.filter(app_label="loyalty", model="apikey").exists()
    assert list(staff.permissions.values_list("content_type__app_label", "codename")) == [
        ("core", "view_apikey")
    ]
    assert ApiClient(brand=fresh_brand, key=OLD_KEY).get("/api/v1/members/nobody").status_code == 404
