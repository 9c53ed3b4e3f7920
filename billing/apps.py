from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from . import receivers_vip, tasks_vip  # noqa: F401  (the nightly VIP refresh's tasks)

        receivers_vip.receivers_connect()  # VIP re-decided on loyalty's tier and points changes
