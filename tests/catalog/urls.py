"""The brand's URLs with the catalogue's member pages, until config/urls_tenant.py includes them."""

from django.urls import include, path

from config.urls_tenant import urlpatterns as tenant_urlpatterns

urlpatterns = [*tenant_urlpatterns, path("", include("catalog.urls"))]
