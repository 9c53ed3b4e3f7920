"""The brand API's draws routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
