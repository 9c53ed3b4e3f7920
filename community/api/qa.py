"""The brand API's qa routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
