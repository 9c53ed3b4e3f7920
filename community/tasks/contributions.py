"""The contributions tasks."""
