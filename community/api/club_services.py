"""The brand API's club_services routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
