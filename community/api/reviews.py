"""The brand API's reviews routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
