from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.migrating import brand_schemas_behind, brand_schemas_migrate
from tenants.services import public_brand_ensure, template_schema_name, template_schema_sync


class Command(BaseCommand):
    help = (
        "Migrate the public schema, then the brand template schema, then every brand schema behind the "
        "template (MIGRATE_PROCESSES at a time)."
    )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        public_brand_ensure()
        template_schema_sync(verbosity=verbosity)
        behind, brands = brand_schemas_behind(template=template_schema_name())
        if verbosity:
            self.stdout.write(f"Brand schemas: {brands}, behind the template: {len(behind)}")
        replayed = brand_schemas_migrate(schemas=behind, verbosity=verbosity)
        if verbosity and behind:
            others = len(behind) - len(replayed)
            self.stdout.write(
                f"Migrated: {len(replayed)} by the migrations' SQL written once, "
                f"{others} by Django's migrate in each"
            )
