"""The draws tasks."""
