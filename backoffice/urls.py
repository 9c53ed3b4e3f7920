"""The backoffice's own pages at /backoffice/... (each view wrapped in `admin.site.admin_view`, so it
needs a staff login like the admin's pages)."""

from django.urls import path  # noqa: F401  (each part adds its pages below)

app_name = "backoffice"

urlpatterns: list = []
