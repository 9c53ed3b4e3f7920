"""Routes of the member site's loyalty pages (included by `config.urls_tenant`): each page's
module adds its own."""

from django.urls import URLPattern, path

from loyalty.site import join

urlpatterns: list[URLPattern] = []


# Sign-up, e-mail verification and invitations (loyalty.site.join).
urlpatterns += [
    path("join/", join.join, name="site-join"),
    path("join/sent/", join.join_sent, name="site-join-sent"),
    path("join/verify/<str:token>/", join.join_verify, name="site-join-verify"),
    path("join/invitation/<str:token>/", join.join_invitation, name="site-join-invitation"),
]
