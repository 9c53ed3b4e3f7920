"""URLs of a brand's own host (its schema): member site, backoffice, REST API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from themes import views as theme_views

admin.site.site_header = "Backoffice"
admin.site.site_title = "Backoffice"
admin.site.index_title = "Programme administration"

urlpatterns = [
    path("", theme_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="home"), name="logout"),
    path("backoffice/", admin.site.urls),
    path("api/v1/", include("config.urls_api")),
    re_path(r"^media/(?P<path>.+)$", theme_views.brand_media, name="brand-media"),
    path("", include("catalog.urls")),
]
