from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.demo import OPERATOR_USERNAME, demo_seed


class Command(BaseCommand):
    help = "Create the platform operator and the demo brands, once (running it again changes nothing)."

    def handle(self, *args, **options):
        port = settings.WEB_PORT
        for demo, created in demo_seed():
            state = "created" if created else "already there"
            self.stdout.write(f"{demo.name}: {state}")
        self.stdout.write(f"Operator: {OPERATOR_USERNAME} on http://{settings.PLATFORM_DOMAIN}:{port}/")
