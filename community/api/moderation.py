"""The brand API's moderation routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
