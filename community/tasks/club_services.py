"""The club_services tasks."""
