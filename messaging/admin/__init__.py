"""Messaging's backoffice pages, one module per concern (each registers its own admin classes)."""

from . import outbox, settings, templates  # noqa: F401
