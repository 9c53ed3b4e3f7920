"""Messaging's REST API (under /api/v1/ on the brand's host), one module per concern."""

from django.urls import path

from messaging.api import messages, templates

urlpatterns: list = [
    path("messages", messages.MessageListView.as_view(), name="api-messages"),
    path("messages/<int:message_id>", messages.MessageDetailView.as_view(), name="api-message"),
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
