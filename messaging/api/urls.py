"""Messaging's REST API (under /api/v1/ on the brand's host), one module per concern."""

from django.urls import path

from messaging.api import messages, templates, triggers, webhooks
from messaging.api.campaigns import (
    CampaignCancelView,
    CampaignListView,
    CampaignPauseView,
    CampaignResumeView,
    CampaignView,
)
from messaging.api.letters import (
    LetterBatchDetailView,
    LetterBatchListView,
    LetterBatchManifestView,
    LetterBatchPdfView,
    LetterBatchPostedView,
    PrintCatalogueView,
)

urlpatterns: list = [
    path("message-triggers", triggers.TriggerListView.as_view(), name="api-message-triggers"),
    path(
        "message-triggers/<str:kind>/<str:channel>",
        triggers.TriggerDetailView.as_view(),
        name="api-message-trigger",
    ),
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

urlpatterns += [
    path("campaigns", CampaignListView.as_view(), name="api-campaigns"),
    path("campaigns/<int:campaign_id>", CampaignView.as_view(), name="api-campaign"),
    path("campaigns/<int:campaign_id>/pause", CampaignPauseView.as_view(), name="api-campaign-pause"),
    path("campaigns/<int:campaign_id>/resume", CampaignResumeView.as_view(), name="api-campaign-resume"),
    path("campaigns/<int:campaign_id>/cancel", CampaignCancelView.as_view(), name="api-campaign-cancel"),
]

urlpatterns += [
    path("letter-batches", LetterBatchListView.as_view(), name="api-letter-batches"),
    path("letter-batches/<int:batch_id>", LetterBatchDetailView.as_view(), name="api-letter-batch"),
    path("letter-batches/<int:batch_id>/pdf", LetterBatchPdfView.as_view(), name="api-letter-batch-pdf"),
    path(
        "letter-batches/<int:batch_id>/manifest",
        LetterBatchManifestView.as_view(),
        name="api-letter-batch-manifest",
    ),
    path(
        "letter-batches/<int:batch_id>/posted",
        LetterBatchPostedView.as_view(),
        name="api-letter-batch-posted",
    ),
    path("print-catalogue.pdf", PrintCatalogueView.as_view(), name="api-print-catalogue"),
    path("webhook-endpoints", webhooks.WebhookEndpointListView.as_view(), name="api-webhook-endpoints"),
    path(
        "webhook-endpoints/<int:endpoint_id>",
        webhooks.WebhookEndpointDetailView.as_view(),
        name="api-webhook-endpoint",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/deliveries",
        webhooks.WebhookDeliveryListView.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhook-deliveries/<int:delivery_id>/retry",
        webhooks.WebhookDeliveryRetryView.as_view(),
        name="api-webhook-delivery-retry",
    ),
]
