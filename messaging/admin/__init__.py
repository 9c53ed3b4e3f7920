"""Messaging's backoffice pages, one module per concern (each registers its own admin classes)."""

from . import (  # noqa: F401
    campaigns,
    letters,
    outbox,
    settings,
    templates,
    triggers,
    webhooks,
)
