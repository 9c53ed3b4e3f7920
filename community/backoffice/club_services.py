"""The backoffice's club_services pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
