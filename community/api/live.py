"""The brand API's live routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
