"""The backoffice's draws pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
