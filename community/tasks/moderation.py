"""The moderation tasks."""
