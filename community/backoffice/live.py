"""The backoffice's live pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
