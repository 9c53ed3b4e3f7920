"""The backoffice's draws lists and forms."""
