"""The backoffice's moderation pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
