"""The backoffice's reviews pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
