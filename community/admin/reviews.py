"""The backoffice's reviews lists and forms."""
