from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Brands"

    def ready(self) -> None:
        from tenants.models import Brand, Domain
        from tenants.routing import routing_changes_watch

        routing_changes_watch(Brand, Domain)
