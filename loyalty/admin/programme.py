"""Backoffice: programme."""
