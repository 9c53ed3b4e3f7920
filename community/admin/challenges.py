"""The backoffice's challenges lists and forms."""
