"""The backoffice's contributions lists and forms."""
