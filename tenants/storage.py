"""Uploaded files: stored under MEDIA_ROOT/<brand schema>/, served at /media/<name> on the brand's host."""

from django.conf import settings
from django_tenants.files.storage import TenantFileSystemStorage


class BrandFileSystemStorage(TenantFileSystemStorage):
    """django-tenants' storage puts the schema in the URL too; the brand's host already says which
    folder to serve from (themes.views.brand_media), so URLs carry no schema name."""

    @property
    def base_url(self) -> str:
        return settings.MEDIA_URL
