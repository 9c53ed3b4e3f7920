"""core 0005: the staff of a brand migrated before roles get one: superusers are owners, other
staff sales reps (the least a role sees); customers' logins get none; a profile already there is
kept; the staff settings row exists."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection

from core.models import StaffProfile, StaffSettings

migration = importlib.import_module("core.migrations.0005_staff_profiles")


def test_existing_staff_get_a_role(db, brand_a):
    connection.set_tenant(brand_a)
    users = get_user_model().objects
    users.create_superuser(username="boss@old.example", email="boss@old.example", password="x")
    users.create_user(username="clerk@old.example", is_staff=True)
    users.create_user(username="customer@old.example")
    kept = users.create_user(username="kept@old.example", is_staff=True)
    StaffProfile.objects.create(user=kept, role=StaffProfile.Role.SUPPORT)
    StaffSettings.objects.filter(pk=1).delete()
    migration.profiles_create(apps, None)
    roles = dict(StaffProfile.objects.values_list("user__username", "role"))
    assert roles["boss@old.example"] == "owner"
    assert roles["clerk@old.example"] == "sales_rep"
    assert roles["kept@old.example"] == "support"
    assert "customer@old.example" not in roles
    assert StaffSettings.objects.filter(pk=1).exists()
    migration.profiles_create(apps, None)  # again: nothing more
    assert StaffProfile.objects.count() == len(roles)
