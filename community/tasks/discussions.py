"""The discussions tasks."""
