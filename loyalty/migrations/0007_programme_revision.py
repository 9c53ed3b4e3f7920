from django.db import migrations, models

# Statement-level on the tables of the programme; row-level on rules, so that the budget counter
# (moved by every event of a rule with a global budget) does not count as a change. The function
# names its schema (the trigger's own), so it works the same in every brand cloned from the template.
REVISION = """
CREATE SEQUENCE loyalty_programme_revision_seq;
INSERT INTO loyalty_programmerevision (id, revision) VALUES (1, nextval('loyalty_programme_revision_seq'));
CREATE OR REPLACE FUNCTION loyalty_programme_revision_bump() RETURNS trigger AS $$
BEGIN
    EXECUTE format(
        'UPDATE %1$I.loyalty_programmerevision SET revision = nextval(%2$L) WHERE id = 1',
        TG_TABLE_SCHEMA, quote_ident(TG_TABLE_SCHEMA) || '.loyalty_programme_revision_seq'
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER loyalty_programme_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON loyalty_programmesettings FOR EACH STATEMENT EXECUTE FUNCTION loyalty_programme_revision_bump();
CREATE TRIGGER loyalty_programme_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON loyalty_eventtype FOR EACH STATEMENT EXECUTE FUNCTION loyalty_programme_revision_bump();
CREATE TRIGGER loyalty_programme_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON loyalty_tier FOR EACH STATEMENT EXECUTE FUNCTION loyalty_programme_revision_bump();
CREATE TRIGGER loyalty_programme_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON loyalty_badge FOR EACH STATEMENT EXECUTE FUNCTION loyalty_programme_revision_bump();
CREATE TRIGGER loyalty_programme_revision AFTER INSERT OR DELETE OR TRUNCATE
    ON loyalty_earningrule FOR EACH STATEMENT EXECUTE FUNCTION loyalty_programme_revision_bump();
CREATE TRIGGER loyalty_programme_revision_update AFTER UPDATE ON loyalty_earningrule FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'budget_used') IS DISTINCT FROM (to_jsonb(NEW) - 'budget_used'))
    EXECUTE FUNCTION loyalty_programme_revision_bump();
"""

UNDO = """
DROP TRIGGER IF EXISTS loyalty_programme_revision ON loyalty_programmesettings;
DROP TRIGGER IF EXISTS loyalty_programme_revision ON loyalty_eventtype;
DROP TRIGGER IF EXISTS loyalty_programme_revision ON loyalty_tier;
DROP TRIGGER IF EXISTS loyalty_programme_revision ON loyalty_badge;
DROP TRIGGER IF EXISTS loyalty_programme_revision ON loyalty_earningrule;
DROP TRIGGER IF EXISTS loyalty_programme_revision_update ON loyalty_earningrule;
DROP FUNCTION IF EXISTS loyalty_programme_revision_bump();
DROP SEQUENCE IF EXISTS loyalty_programme_revision_seq;
DELETE FROM loyalty_programmerevision;
"""


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0006_partial_ledger_indexes")]

    operations = [
        migrations.CreateModel(
            name="ProgrammeRevision",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("revision", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="programme_revision_single_row"
                    )
                ],
            },
        ),
        migrations.RunSQL(REVISION, UNDO),
    ]
