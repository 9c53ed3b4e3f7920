"""The backoffice's discussions lists and forms."""
