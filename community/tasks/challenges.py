"""The challenges tasks."""
