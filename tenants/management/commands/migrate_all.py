from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.services import public_brand_ensure, template_schema_sync


class Command(BaseCommand):
    help = "Migrate the public schema, then the brand template schema, then every brand's schema."

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        public_brand_ensure()
        template_schema_sync(verbosity=verbosity)
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
