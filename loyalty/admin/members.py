"""Backoffice: members."""
