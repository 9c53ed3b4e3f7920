"""The brand API's discussions routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
