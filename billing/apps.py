from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("VIP and billing")

    def ready(self) -> None:
        from . import receivers_vip, tasks_vip  # noqa: F401  (the nightly VIP refresh's tasks)

        receivers_vip.receivers_connect()  # VIP re-decided on loyalty's tier and points changes
