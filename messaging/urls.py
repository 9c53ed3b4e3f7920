"""Messaging's pages on the brand's host: providers' callbacks (/hooks/...) and the member's
unsubscribe links."""

from django.urls import path

from messaging import hooks_email, hooks_twilio, views_unsubscribe
from messaging.providers.twilio import INBOUND_HOOK, STATUS_HOOK

urlpatterns: list = [
    path(STATUS_HOOK, hooks_twilio.status, name="twilio-status"),
    path(INBOUND_HOOK, hooks_twilio.inbound, name="twilio-inbound"),
    path("hooks/email/<slug:esp>/tracking/", hooks_email.email_tracking, name="email-tracking"),
    path("u/<str:token>/", views_unsubscribe.unsubscribe, name="messaging-unsubscribe"),
]
