"""The member site's qa pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
