"""The member site's moderation pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
