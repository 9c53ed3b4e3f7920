"""Tenant isolation of the members' audit: a block in brand A is recorded in A only."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from loyalty.models import MemberAudit
from loyalty.services.members import member_block, member_upsert


def test_an_audit_row_of_one_brand_is_not_visible_in_another(db, brand_a, brand_b):
    with schema_context(brand_a.schema_name):
        member, _ = member_upsert(external_id="same-id", data={"first_name": "Alma"})
        staff = get_user_model().objects.get(username=f"admin@{brand_a.slug}.example")
        member_block(member=member, by=staff, reason="alpha's own reason")
        assert MemberAudit.objects.filter(member__external_id="same-id").count() == 1
    with schema_context(brand_b.schema_name):
        member_upsert(external_id="same-id", data={"first_name": "Bea"})
        assert not MemberAudit.objects.exists()
