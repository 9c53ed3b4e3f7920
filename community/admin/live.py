"""The backoffice's live lists and forms."""
