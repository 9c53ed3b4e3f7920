"""Backoffice: rules."""
