from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from . import (
            policy,  # noqa: F401  (registers the platform's rules as checks)
            tasks,  # noqa: F401  (registers the messages' outbox with core.outbox)
            tasks_campaigns,  # noqa: F401  (campaigns' tasks, the paused-campaign check)
            tasks_letters,  # noqa: F401  (launch mailings' tasks, the batches' outbox)
            tasks_triggers,  # noqa: F401  (the time-based triggers' beat task)
            triggers,
        )
        from .providers import (
            email,  # noqa: F401  (registers the e-mail provider)
            twilio,  # noqa: F401  (registers the SMS and voice providers)
        )
        from .webhooks import receivers  # noqa: F401  (outgoing webhooks: signals' receivers, outbox)

        triggers.receivers_connect()  # the triggers' receivers of the loyalty and catalogue signals
        from loyalty.signals import member_anonymising

        from .services.privacy import member_anonymising_received

        member_anonymising.connect(member_anonymising_received, dispatch_uid="messaging.privacy")
