from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatheringsConfig(AppConfig):
    name = "gatherings"
    # "Events" to people; the code says gatherings, never confused with loyalty's activity events.
    verbose_name = _("Events")
