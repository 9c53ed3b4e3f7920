from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares. A tenant app: its models (API keys) live in each brand's schema."""

    name = "core"
    verbose_name = "API access"

    def ready(self) -> None:
        from core.models import ApiKey
        from tenants.routing import routing_changes_watch

        routing_changes_watch(ApiKey)
