"""The brand API's contributions routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
