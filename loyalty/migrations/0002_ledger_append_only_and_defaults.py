from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION loyalty_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the points ledger is append-only: % on loyalty_ledgerentry is refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER loyalty_ledger_append_only
    BEFORE UPDATE OR DELETE ON loyalty_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION loyalty_ledger_append_only();
"""

UNDO = """
DROP TRIGGER IF EXISTS loyalty_ledger_append_only ON loyalty_ledgerentry;
DROP FUNCTION IF EXISTS loyalty_ledger_append_only();
"""

BUILT_IN_EVENT_TYPES = [
    ("purchase", "Purchase", "amount, currency, items [{sku, category, quantity, unit_price}]"),
    ("trip", "Trip", "zone_from, zone_to, start, end"),
    ("damage_report", "Damage report", "vehicle, status (submitted/approved)"),
    ("review", "Review", "product, rating, status"),
    ("referral", "Referral", "referred member"),
    ("refund", "Refund", "original_event: the idempotency key of the purchase refunded"),
]


def defaults(apps, schema_editor):
    if schema_editor.connection.schema_name == "public":
        return
    apps.get_model("loyalty", "ProgrammeSettings").objects.get_or_create(id=1)
    event_type = apps.get_model("loyalty", "EventType")
    for code, name, description in BUILT_IN_EVENT_TYPES:
        event_type.objects.get_or_create(code=code, defaults={"name": name, "description": description})


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0001_initial")]

    operations = [
        migrations.RunSQL(APPEND_ONLY, UNDO),
        migrations.RunPython(defaults, migrations.RunPython.noop),
    ]
