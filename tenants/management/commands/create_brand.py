from django.core.management.base import BaseCommand, CommandError

from core.errors import InvalidInput
from tenants.services import brand_create


class Command(BaseCommand):
    help = "Create a brand: its schema (cloned from the template), its domains and its admin login."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", default=None, help="generated and printed if omitted")
        parser.add_argument("--domain", action="append", default=[], help="extra custom domain (repeatable)")
        parser.add_argument("--timezone", default="Europe/Paris")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--language", default="en")

    def handle(self, *args, **options):
        try:
            brand, password = brand_create(
                slug=options["slug"],
                name=options["name"],
                admin_email=options["admin_email"],
                admin_password=options["admin_password"],
                extra_domains=options["domain"],
                timezone_name=options["timezone"],
                currency=options["currency"],
                language=options["language"],
            )
        except InvalidInput as error:
            raise CommandError(f"create_brand: {error.field}: {error.message}") from None
        domains = ", ".join(brand.domains.values_list("domain", flat=True))
        self.stdout.write(f"Brand '{brand.name}' created (schema {brand.schema_name}) on {domains}")
        self.stdout.write(f"Admin login: {options['admin_email']} / {password}")
