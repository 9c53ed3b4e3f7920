"""URLs of a brand's own host (its schema): member site, backoffice, REST API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from core.auth_urls import login_view, password_reset_urls
from core.lockout import LockoutAdminAuthenticationForm
from loyalty.languages import language_switch
from themes import views as theme_views

admin.site.site_header = _("Backoffice")
admin.site.site_title = _("Backoffice")
admin.site.index_title = _("Programme administration")
# The backoffice's login says when the account is locked (core.lockout), not "wrong password".
admin.site.login_form = LockoutAdminAuthenticationForm

urlpatterns = [
    path("accounts/login/", login_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="home"), name="logout"),
    path("accounts/", include(password_reset_urls())),
    # The backoffice's login page links here ("Forgotten your password?"): staff reset as members do.
    path(
        "backoffice/password-reset/",
        RedirectView.as_view(pattern_name="password_reset"),
        name="admin_password_reset",
    ),
    # The backoffice's own pages (dashboard, search, jobs, audit, staff), then the admin's.
    path("backoffice/community/", include("community.backoffice.urls")),
    path("backoffice/", include("backoffice.urls")),
    path("backoffice/", admin.site.urls),
    # The language switcher (themes/_language_switch.html), on the site and in the backoffice.
    path("i18n/setlang/", language_switch, name="set_language"),
    path("api/v1/", include("config.urls_api")),
    re_path(r"^media/(?P<path>.+)$", theme_views.brand_media, name="brand-media"),
    re_path(r"^theme/(?P<digest>[0-9a-f]{16})\.css$", theme_views.theme_css, name="theme-css"),
    path("favicon.ico", theme_views.favicon, name="favicon"),
    path("page/<slug:slug>/", theme_views.text_page, name="theme-page"),
    path("", include("messaging.urls")),
    path("", include("loyalty.site.urls")),
    path("", include("catalog.urls")),
    path("", include("billing.urls")),
    path("", include("gatherings.urls")),
    path("", include("clubs.urls")),
    path("", include("community.site.urls")),
]
