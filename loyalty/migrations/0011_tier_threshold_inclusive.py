from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0010_rule_percentage_award"),
    ]

    operations = [
        migrations.AddField(
            model_name="tier",
            name="threshold_inclusive",
            field=models.BooleanField(
                default=True,
                help_text=(
                    "whether a metric equal to the threshold reaches the tier ('at least 1,000'), "
                    "or must be above it ('over 1,000')"
                ),
            ),
        ),
        migrations.AlterField(
            model_name="tier",
            name="threshold",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("0"),
                help_text=(
                    "reached when the qualification metric is at least this (above it, when not included)"
                ),
                max_digits=14,
            ),
        ),
    ]
