"""The community's routes of the brand REST API (`config.urls_api`): the reviews part's, the only
part with routes there."""

from django.urls import include, path

from . import reviews

urlpatterns = [path("", include(reviews.urlpatterns))]
