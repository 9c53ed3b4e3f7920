"""Messaging's pages on the brand's host: providers' callbacks (/hooks/...) and the member's
unsubscribe links."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
