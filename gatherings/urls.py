"""The member site's events pages (included at the root of the brand's host by `config.urls_tenant`)."""

from django.urls import path

from . import site

urlpatterns = [
    path("events/", site.gathering_list, name="gatherings-list"),
    path("events/<int:gathering_id>/", site.gathering_detail, name="gatherings-detail"),
    path("events/<int:gathering_id>/rsvp/", site.gathering_rsvp, name="gatherings-rsvp"),
    path("events/<int:gathering_id>/cancel/", site.gathering_cancel, name="gatherings-cancel"),
]
