"""The backoffice's moderation lists and forms."""
