"""ApiKey moves from the loyalty app to core with its table (`loyalty_apikey`) and rows: core's state
gains the model, loyalty's loses it (loyalty 0012), and no SQL runs. Its content type follows, so the
staff permissions on API keys and the admin log's entries stay attached to it."""

from django.db import migrations, models


def _content_type_move(apps, schema_editor, *, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_types = ContentType.objects.using(schema_editor.connection.alias)
    if not content_types.filter(app_label=target, model="apikey").exists():
        content_types.filter(app_label=source, model="apikey").update(app_label=target)


def content_type_to_core(apps, schema_editor) -> None:
    _content_type_move(apps, schema_editor, source="loyalty", target="core")


def content_type_to_loyalty(apps, schema_editor) -> None:
    _content_type_move(apps, schema_editor, source="core", target="loyalty")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("loyalty", "0009_member_audit"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=80)),
                        ("prefix", models.CharField(max_length=12, unique=True)),
                        ("key_hash", models.CharField(max_length=64, unique=True)),
                        ("rate_limit_per_minute", models.PositiveIntegerField(default=6000)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={"db_table": "loyalty_apikey"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_core, content_type_to_loyalty),
    ]
