"""The brand API's auctions routes."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
