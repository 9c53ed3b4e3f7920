"""The brand REST API, under /api/v1/ on the brand's own host."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loyalty.api.errors import api_not_found

urlpatterns = [
    path("", include("loyalty.api.urls")),
    path("", include("catalog.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^(?P<path>.*)$", api_not_found),
]
