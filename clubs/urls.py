"""The member site's club spaces (included at the root of the brand's host)."""

from django.urls import path

from . import views

urlpatterns = [
    path("club/", views.club_index, name="club-index"),
    path("club/<slug:slug>/", views.club_space, name="club-space"),
    path("club/<slug:slug>/code/", views.club_code, name="club-code"),
    path("club/<slug:slug>/offers/<int:offer_id>/", views.club_offer, name="club-offer"),
    path("club/<slug:slug>/<slug:page_slug>/", views.club_page, name="club-page"),
]
