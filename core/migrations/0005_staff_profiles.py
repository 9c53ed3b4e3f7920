"""Every staff user of the brand gets a role (README "Backoffice roles"), and the brand its one row
of staff settings: superusers become owners; other staff become sales reps, the role that sees the
least (their own portfolio, read only), keeping any Django permission rows they had, until an
owner gives them another."""

from django.db import migrations


def profiles_create(apps, schema_editor):
    user_model = apps.get_model("auth", "User")
    staff_profile = apps.get_model("core", "StaffProfile")
    apps.get_model("core", "StaffSettings").objects.get_or_create(pk=1)
    have = staff_profile.objects.values("user_id")
    for user in user_model.objects.filter(is_staff=True).exclude(pk__in=have):
        staff_profile.objects.create(user=user, role="owner" if user.is_superuser else "sales_rep")


class Migration(migrations.Migration):
    dependencies = [("core", "0004_apikey_scopes"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(profiles_create, migrations.RunPython.noop)]
