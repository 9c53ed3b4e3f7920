"""The backoffice's qa lists and forms."""
