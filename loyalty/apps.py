from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"

    def ready(self) -> None:
        from loyalty.models import ApiKey
        from tenants.routing import routing_changes_watch

        routing_changes_watch(ApiKey)
