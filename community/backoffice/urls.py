"""The backoffice's community pages that are not a model's list, under /backoffice/community/
(`config.urls_tenant`), URL names `community-bo:<name>`: the moderation queue and the review trends."""

from django.urls import include, path

from . import moderation, reviews

app_name = "community-bo"

urlpatterns = [path("", include(part.urlpatterns)) for part in (moderation, reviews)]
