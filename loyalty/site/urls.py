"""Routes of the member site's loyalty pages (included by `config.urls_tenant`): each page's
module adds its own."""

from django.urls import URLPattern, path

from loyalty.site import account, join
from loyalty.site.activation import activate, activate_password

urlpatterns: list[URLPattern] = [
    path("", account.home, name="home"),
    path("account/", account.dashboard, name="site-account"),
    path("account/balance.json", account.balance_json, name="site-balance"),
    path("account/history/", account.history, name="site-history"),
    path("account/profile/", account.profile, name="site-profile"),
    path("account/portfolio/", account.portfolio, name="site-portfolio"),
    path("account/portfolio/<str:external_id>/", account.portfolio_detail, name="site-portfolio-member"),
]


# Sign-up, e-mail verification and invitations (loyalty.site.join).
urlpatterns += [
    path("join/", join.join, name="site-join"),
    path("join/sent/", join.join_sent, name="site-join-sent"),
    path("join/verify/<str:token>/", join.join_verify, name="site-join-verify"),
    path("join/invitation/<str:token>/", join.join_invitation, name="site-join-invitation"),
]


# B2B activation with the code of the launch letter (loyalty.site.activation).
urlpatterns += [
    path("activate/", activate, name="site-activate"),
    path("activate/password/", activate_password, name="site-activate-password"),
]
