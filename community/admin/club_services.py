"""The backoffice's club_services lists and forms."""
