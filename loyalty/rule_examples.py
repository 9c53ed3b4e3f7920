"""Example earning rules, as `rule_create(data=...)` takes them: the one definition the demo brands
(`loyalty/demo.py`), the benches (`bench/_api_seed.py`) and the tests start from. Users add to a
copy (`{**SUBURB_TO_PARIS_HAPPY_HOUR, "priority": 10}`) and never change these."""

from __future__ import annotations

HAPPY_HOUR = {"field": "local_time", "op": "between", "value": ["18:00", "22:00"]}

SUBURB_TO_PARIS_HAPPY_HOUR = {
    "name": "Suburb to Paris, happy hour",
    "event_type": "trip",
    "award_type": "fixed",
    "points": 200,
    "conditions": [
        {"field": "attributes.zone_from", "op": "in", "value": [3, 4]},
        {"field": "attributes.zone_to", "op": "equals", "value": 1},
        HAPPY_HOUR,
    ],
}

ZONE_2_TO_PARIS_HAPPY_HOUR = {
    "name": "Zone 2 to Paris, happy hour",
    "event_type": "trip",
    "award_type": "fixed",
    "points": 100,
    "conditions": [
        {"field": "attributes.zone_from", "op": "equals", "value": 2},
        {"field": "attributes.zone_to", "op": "equals", "value": 1},
        HAPPY_HOUR,
    ],
}

DAMAGE_REPORT = {"name": "Damage report", "event_type": "damage_report", "award_type": "fixed", "points": 50}

POINT_PER_EURO = {
    "name": "1 point per euro",
    "event_type": "purchase",
    "award_type": "per_amount",
    "points_per_unit": "1",
    "rounding": "down",
}

FEATURED = {"field": "category", "op": "equals", "value": "featured"}

DOUBLE_ON_FEATURED = {
    "name": "Double on featured products",
    "event_type": "purchase",
    "award_type": "multiplier",
    "multiplier": "2",
    "item_conditions": [FEATURED],
}

REP_TEN_PERCENT_OF_FEATURED = {
    "name": "Sales rep: 10% of what the client earns on featured products",
    "event_type": "purchase",
    "award_type": "percentage",
    "percent": "10",
    "beneficiary": "sales_rep",
    "item_conditions": [FEATURED],
}

# The VIP perk: whatever the earlier rules gave a VIP member, twice (a later priority than theirs).
DOUBLE_FOR_VIP = {
    "name": "Double for VIP members",
    "event_type": "purchase",
    "award_type": "multiplier",
    "multiplier": "2",
    "priority": 900,
    "conditions": [{"field": "member.vip", "op": "equals", "value": True}],
}
