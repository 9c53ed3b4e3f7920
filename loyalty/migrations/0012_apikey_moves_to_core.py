"""ApiKey leaves loyalty's state for core's (core 0001); its table and rows stay, no SQL runs."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("loyalty", "0011_tier_threshold_inclusive"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApiKey")],
            database_operations=[],
        ),
    ]
