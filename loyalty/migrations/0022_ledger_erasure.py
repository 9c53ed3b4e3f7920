"""The ledger stays append-only, except for an erasure (README.md, "Backoffice", GDPR): in a
transaction that set `loyalty.erasure` to `on` (`loyalty.privacy`), an update may replace an
entry's `reason` and `explanation`, where a person's name may have been typed, and nothing else:
amounts, balances, dates and causes never change."""

from django.db import migrations

ERASABLE = """
CREATE OR REPLACE FUNCTION loyalty_ledger_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('loyalty.erasure', true) = 'on'
       AND to_jsonb(NEW) - 'reason' - 'explanation' = to_jsonb(OLD) - 'reason' - 'explanation' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the points ledger is append-only: % on loyalty_ledgerentry is refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION loyalty_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the points ledger is append-only: % on loyalty_ledgerentry is refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0021_member_search")]

    operations = [migrations.RunSQL(ERASABLE, APPEND_ONLY)]
