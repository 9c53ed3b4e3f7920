"""URLs of the platform's own domain (public schema): the operator console, Caddy's TLS question."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from billing.hooks import stripe_webhook
from core.auth_urls import login_view, password_reset_urls
from tenants import tls, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console"), name="platform-home"),
    path("console/", views.console_home, name="console"),
    path("console/brands/", views.console_brand_create, name="console-brand-create"),
    path("console/brands/<int:brand_id>/plan/", views.console_brand_plan, name="console-brand-plan"),
    path("console/plans/", views.console_plan_create, name="console-plan-create"),
    path("console/plans/<int:plan_id>/", views.console_plan_edit, name="console-plan-edit"),
    path(
        "console/brands/<int:brand_id>/<str:action>/",
        views.console_brand_status,
        name="console-brand-status",
    ),
    path(
        "console/lockouts/<int:lockout_id>/lift/",
        views.console_lockout_lift,
        name="console-lockout-lift",
    ),
    path("tls/ask", tls.tls_ask, name="tls-ask"),
    path("hooks/stripe/", stripe_webhook, name="stripe-webhook"),
    path("login/", login_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("", include(password_reset_urls())),
]
