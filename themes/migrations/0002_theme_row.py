from django.db import migrations


def theme_row(apps, schema_editor):
    """Every brand has its theme row (brands are cloned from the template, which gets it here)."""
    if schema_editor.connection.schema_name == "public":
        return
    apps.get_model("themes", "Theme").objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("themes", "0001_initial")]

    operations = [migrations.RunPython(theme_row, migrations.RunPython.noop)]
