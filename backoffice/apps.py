from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """The brand backoffice's own pages across apps: navigation, global search, the dashboard and its
    monthly figures. Each app keeps its own admin pages (README "Backoffice")."""

    name = "backoffice"
    verbose_name = _("Backoffice")
