"""The brand REST API, under /api/v1/ on the brand's own host."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from core.api.docs import getting_started
from core.api.errors import api_not_found
from tenants import api as domains
from themes import api as themes_api

urlpatterns = [
    path("", include("loyalty.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("gatherings.api")),
    path("", include("clubs.api_urls")),
    path("", include("billing.api")),
    path("", include("community.api.urls")),
    path("domains", domains.DomainListView.as_view(), name="api-domains"),
    path("domains/<str:domain>", domains.DomainDetailView.as_view(), name="api-domain"),
    path("domains/<str:domain>/primary", domains.DomainPrimaryView.as_view(), name="api-domain-primary"),
    path(
        "domains/<str:domain>/verification",
        domains.DomainVerificationView.as_view(),
        name="api-domain-verification",
    ),
    path("theme", themes_api.ThemeView.as_view(), name="api-theme"),
    path("theme/<str:kind>", themes_api.ThemeImageView.as_view(), name="api-theme-image"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from our static files, its script a file of its own (/docs/?script): the CSP holds.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="loyalty/api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path(
        "docs/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", template_name="core/api/redoc.html"),
        name="api-redoc",
    ),
    path("docs/getting-started", getting_started, name="api-getting-started"),
    re_path(r"^(?P<path>.*)$", api_not_found),
]
