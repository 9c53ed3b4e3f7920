"""Routes of the member site's loyalty pages (included by `config.urls_tenant`): each page's
module adds its own."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
