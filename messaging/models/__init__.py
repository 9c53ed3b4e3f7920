"""Messaging's models, one module per concern; every one of them lives in the brand's schema."""

from .campaigns import Campaign, CampaignRun
from .letters import Letter, LetterBatch
from .messages import STATE_RANK, Channel, ChannelSettings, Message, MessageTemplate, Purpose
from .triggers import Trigger, TriggerKind
from .webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = ["STATE_RANK", "Channel", "ChannelSettings", "Message", "MessageTemplate", "Purpose"]
__all__ += ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]
__all__ += ["Campaign", "CampaignRun"]
__all__ += ["Letter", "LetterBatch"]
__all__ += ["Trigger", "TriggerKind"]
