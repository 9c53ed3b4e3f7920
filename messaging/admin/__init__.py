"""Messaging's backoffice pages, one module per concern (each registers its own admin classes)."""
