"""Backoffice: apikeys."""
