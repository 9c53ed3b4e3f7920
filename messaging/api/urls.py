"""Messaging's REST API (under /api/v1/ on the brand's host), one module per concern."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
