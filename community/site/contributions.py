"""The member site's contributions pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
