"""The API bench's brand: 100,000 members (one set-based INSERT), 5 active rules, an API key."""

from __future__ import annotations

MEMBER_SQL = """
INSERT INTO loyalty_member (
    external_id, kind, company_name, siret, first_name, last_name, email, phone,
    address_line1, address_line2, postal_code, city, country, language, tags, is_vip,
    balance, overdraft_limit, points_owed, status, joined_at, created_at, updated_at
)
SELECT 'M' || lpad(g::text, 7, '0'), 'customer', '', '', 'Member', g::text, 'm' || g || '@bench.example', '',
       '', '', '', '', 'FR', 'fr', '{}', g %% 50 = 0,
       0, 0, 0, 'active', now() - interval '400 days', now(), now()
FROM generate_series(1, %(count)s) AS g
"""


def bench_rules() -> list[dict]:
    """The 5 active rules, from `loyalty.rule_examples` (importable once django_setup() has run)."""
    from loyalty.rule_examples import (
        DAMAGE_REPORT,
        DOUBLE_ON_FEATURED,
        POINT_PER_EURO,
        SUBURB_TO_PARIS_HAPPY_HOUR,
        ZONE_2_TO_PARIS_HAPPY_HOUR,
    )

    return [
        {**POINT_PER_EURO, "limit_period": "day", "limit_points": 500, "priority": 10},
        {**DOUBLE_ON_FEATURED, "priority": 20},
        {**SUBURB_TO_PARIS_HAPPY_HOUR, "priority": 10, "stop_after": True},
        {**ZONE_2_TO_PARIS_HAPPY_HOUR, "priority": 20},
        {**DAMAGE_REPORT, "priority": 10},
    ]


def brand_seed(*, slug: str, members: int) -> tuple[object, str]:
    """Create the brand (a clone of the template), its members, rules and an API key.
    Returns (brand, key). Call after django_setup()."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from core.apikeys import api_key_create
    from loyalty.services.rules import rule_create
    from tenants.services import brand_create

    brand, _ = brand_create(
        slug=slug, name="API bench", admin_email="admin@bench.example", admin_password="x" * 16
    )
    try:
        with schema_context(brand.schema_name):
            with connection.cursor() as cursor:
                cursor.execute(MEMBER_SQL, {"count": members})
                cursor.execute("ANALYZE loyalty_member")
            for rule in bench_rules():
                rule_create(data=rule)
            _, key = api_key_create(name="bench", rate_limit_per_minute=10_000_000)
    except BaseException:
        brand.delete(force_drop=True)
        raise
    return brand, key
