"""Messaging's REST API (under /api/v1/ on the brand's host), one module per concern."""

from django.urls import path

from messaging.api import templates

urlpatterns: list = [
    path("message-templates", templates.TemplateListView.as_view(), name="api-message-templates"),
    path(
        "message-templates/preview",
        templates.TemplatePreviewView.as_view(),
        name="api-message-template-preview",
    ),
    path(
        "message-templates/<int:template_id>",
        templates.TemplateDetailView.as_view(),
        name="api-message-template",
    ),
]
