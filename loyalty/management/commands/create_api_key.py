from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from core.apikeys import api_key_create
from core.errors import InvalidInput
from tenants.models import Brand


class Command(BaseCommand):
    help = "Create an API key for a brand's systems; the key is printed once and stored hashed."

    def add_arguments(self, parser):
        parser.add_argument("--brand", required=True, help="the brand's slug")
        parser.add_argument("--name", required=True, help="a label, such as 'ERP' or 'POS'")
        parser.add_argument("--rate-limit", type=int, default=None, help="requests per minute")

    def handle(self, *args, **options):
        brand = Brand.objects.filter(slug=options["brand"]).exclude(schema_name="public").first()
        if brand is None:
            raise CommandError(f"create_api_key: brand: no brand with slug '{options['brand']}'")
        if options["rate_limit"] is not None and options["rate_limit"] < 1:
            raise CommandError("create_api_key: rate-limit: must be at least 1 request per minute")
        with schema_context(brand.schema_name):
            try:
                api_key, key = api_key_create(
                    name=options["name"], rate_limit_per_minute=options["rate_limit"]
                )
            except InvalidInput as error:
                raise CommandError(f"create_api_key: {error.field}: {error.message}") from None
        self.stdout.write(f"API key '{api_key.name}' for {brand.name} (shown once, store it now):")
        self.stdout.write(key)
