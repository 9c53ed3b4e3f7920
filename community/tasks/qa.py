"""The qa tasks."""
