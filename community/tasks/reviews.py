"""The reviews tasks."""
