"""The brand API's challenges routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
