"""The backoffice's own pages at /backoffice/... (each view wrapped in `admin.site.admin_view`, so it
needs a staff login like the admin's pages)."""

from django.contrib import admin
from django.urls import path

from backoffice import navigation, search
from core import staff_views

app_name = "backoffice"

urlpatterns: list = [
    path("colors.css", navigation.colors_css, name="colors"),
    path("search/", admin.site.admin_view(search.search_view), name="search"),
    # Staff accounts (core.staff_views): the invitation and two-factor pages come before the admin's
    # login is passed, so they are not wrapped in admin_view; the settings page is the owner's.
    path("invitation/<str:token>/", staff_views.staff_invitation, name="staff_invitation"),
    path("two-factor/", staff_views.two_factor, name="two_factor"),
    path("two-factor/setup/", staff_views.two_factor_setup, name="two_factor_setup"),
    path("staff/settings/", admin.site.admin_view(staff_views.staff_settings), name="staff_settings"),
]

# Jobs and exports (backoffice.jobs).
from backoffice import jobs  # noqa: E402  (each part's block of pages)

urlpatterns += [
    path("jobs/", admin.site.admin_view(jobs.jobs_view), name="jobs"),
    path("jobs/<int:job_id>/", admin.site.admin_view(jobs.job_view), name="job"),
    path("jobs/<int:job_id>/status.json", admin.site.admin_view(jobs.job_status_view), name="job_status"),
    path("jobs/<int:job_id>/result/", admin.site.admin_view(jobs.job_result_view), name="job_result"),
    path("jobs/export/<slug:export>/", admin.site.admin_view(jobs.job_export_view), name="job_export"),
]

# The dashboard and the CSV of each of its figures (backoffice.dashboard).
from backoffice import dashboard  # noqa: E402  (each part's block of pages)

urlpatterns += [
    path("dashboard/", admin.site.admin_view(dashboard.dashboard), name="dashboard"),
    path("dashboard/<slug:figure>.csv", admin.site.admin_view(dashboard.dashboard_csv), name="dashboard_csv"),
]

# The audit trail's list (core.admin_audit).
from core import admin_audit  # noqa: E402  (each part's block of pages)

urlpatterns += [path("audit/", admin.site.admin_view(admin_audit.audit_list), name="audit")]

# Imports: upload, the dry run's preview, then the import (backoffice.imports).
from backoffice import imports  # noqa: E402  (each part's block of pages)

urlpatterns += [
    path("imports/<slug:name>/", admin.site.admin_view(imports.import_view), name="import"),
    path("imports/check/<int:job_id>/", admin.site.admin_view(imports.import_preview), name="import_preview"),
    path(
        "imports/check/<int:job_id>/import/",
        admin.site.admin_view(imports.import_confirm),
        name="import_confirm",
    ),
]
