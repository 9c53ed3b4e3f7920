"""The member site's discussions pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
