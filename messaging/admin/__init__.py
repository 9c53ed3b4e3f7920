"""Messaging's backoffice pages, one module per concern (each registers its own admin classes)."""

from . import campaigns, outbox, settings, templates  # noqa: F401
from . import webhooks  # noqa: F401
