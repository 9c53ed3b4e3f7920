"""The backoffice's stored figures (the dashboard's monthly aggregates)."""
