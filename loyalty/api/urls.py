"""URLs of the loyalty REST API (members, events, simulate, adjustments, rules, tiers)."""

urlpatterns: list = []
