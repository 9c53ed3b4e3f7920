from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatheringsConfig(AppConfig):
    name = "gatherings"
    # "Events" to people; the code says gatherings, never confused with loyalty's activity events.
    verbose_name = _("Events")

    def ready(self) -> None:
        from loyalty.signals import member_anonymising

        from .services import member_anonymising_received

        # An anonymised member's seats are freed for the waiting lists (gatherings.services).
        member_anonymising.connect(member_anonymising_received, dispatch_uid="gatherings.anonymising")
