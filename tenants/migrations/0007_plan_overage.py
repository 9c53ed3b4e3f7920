# Written for PlanOverage (tenants/models.py): a brand over its platform plan's limits, once a month.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0006_billing'),
    ]

    operations = [
        migrations.CreateModel(
            name='PlanOverage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('limit', models.CharField(choices=[('members', 'Members'), ('messages', 'Messages per month')], max_length=16)),
                ('allowed', models.PositiveIntegerField(help_text="the plan's limit when the crossing was found")),
                ('used', models.PositiveIntegerField(help_text='what was counted then')),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('brand', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='plan_overages', to='tenants.brand')),
                ('plan', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='tenants.platformplan')),
            ],
            options={
                'ordering': ['-month', 'brand', 'limit'],
                'constraints': [
                    models.UniqueConstraint(fields=('brand', 'month', 'limit'), name='plan_overage_once_a_month'),
                    models.CheckConstraint(condition=models.Q(('limit__in', ['members', 'messages'])), name='plan_overage_limit'),
                    models.CheckConstraint(condition=models.Q(('month__day', 1)), name='plan_overage_month_start'),
                    models.CheckConstraint(condition=models.Q(('used__gt', models.F('allowed'))), name='plan_overage_is_over'),
                ],
            },
        ),
    ]
