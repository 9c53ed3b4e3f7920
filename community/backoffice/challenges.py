"""The backoffice's challenges pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
