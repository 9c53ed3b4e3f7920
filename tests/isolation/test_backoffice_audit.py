"""Tenant isolation of the audit trail: a change in brand A is in A's trail only; B's staff see
none of A's entries, in the list, an entry's page, the CSV or an object's history."""

from __future__ import annotations

from django.db import connection
from django.urls import reverse

from core.models import AuditEntry
from loyalty.services.tiers import tier_create, tier_update


def test_a_change_in_one_brand_is_in_its_trail_only(db, brand_a, brand_b, staff_for):
    connection.set_tenant(brand_a)
    tier = tier_create(data={"code": "a-secret-tier", "name": "A secret tier", "threshold": 10})
    tier_update(tier=tier, data={"code": "a-secret-tier", "name": "A secret tier", "threshold": 20})
    entry = AuditEntry.objects.filter(content_type__model="tier").last()
    a_ids = {entry.pk, tier.pk}
    connection.set_tenant(brand_b)
    assert not AuditEntry.objects.filter(object_repr="A secret tier").exists()
    staff_b = staff_for(brand_b)
    assert "A secret tier" not in staff_b.get(reverse("admin:core_auditentry_changelist")).content.decode()
    csv = b"".join(staff_b.get(reverse("admin:core_auditentry_export")).streaming_content).decode()
    assert "A secret tier" not in csv
    for pk in a_ids:
        page = staff_b.get(reverse("admin:core_auditentry_change", args=[pk]))
        assert "A secret tier" not in page.content.decode()
    history = staff_b.get(reverse("admin:loyalty_tier_history", args=[tier.pk]), follow=True)
    assert "A secret tier" not in history.content.decode()
