"""URLs of the catalogue REST API (gifts, redemptions)."""

urlpatterns: list = []
