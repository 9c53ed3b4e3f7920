"""The member site's auctions pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
