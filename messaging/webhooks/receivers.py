"""What turns the loyalty, catalogue and messaging signals into webhook events (connected when
`messaging.apps` is ready). Each receiver looks at the brand's cached subscriptions first, so a
brand with no endpoint subscribed to the types costs no query; otherwise it reads what the events
say (one query) and stores every delivery with one insert (`webhook_events_emit`), in a
transaction of its own: the change that sent the signal has committed. A receiver never raises
into that committed change: a failure is logged."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from catalog.signals import order_status_changed
from loyalty.selectors.tiers import tiers_by_id
from loyalty.signals import (
    MemberChange,
    PointsChange,
    TierChange,
    members_changed,
    points_changed,
    tiers_changed,
)
from messaging.selectors.webhooks import webhook_members_data, webhook_subscriptions
from messaging.services.webhooks import webhook_events_emit
from messaging.signals import MessageSettled, messages_settled
from messaging.webhooks import tasks  # noqa: F401  (registers the deliveries' outbox with core.outbox)


def _subscribed(types: set[str]) -> bool:
    return bool(types & webhook_subscriptions())


@receiver(members_changed, dispatch_uid="webhooks-members")
def members_sent(sender: Any, changes: list[MemberChange], **kwargs: Any) -> None:
    types = {"member.created" if change.created else "member.updated" for change in changes}
    if not _subscribed(types):
        return
    members = webhook_members_data(member_ids={change.member_id for change in changes})
    webhook_events_emit(
        events=[
            ("member.created" if change.created else "member.updated", {"member": members[change.member_id]})
            for change in changes
            if change.member_id in members
        ]
    )


@receiver(points_changed, dispatch_uid="webhooks-points")
def points_sent(sender: Any, changes: list[PointsChange], **kwargs: Any) -> None:
    if not _subscribed({f"points.{change.kind}" for change in changes}):
        return
    members = webhook_members_data(member_ids={change.member_id for change in changes})
    webhook_events_emit(
        events=[
            (
                f"points.{change.kind}",
                {
                    "member": members[change.member_id],
                    "points": change.points,
                    "balance_after": change.balance_after,
                    "ledger_entry_id": change.ledger_entry_id,
                    "activity_event_id": change.event_id,
                },
            )
            for change in changes
            if change.member_id in members
        ]
    )


@receiver(tiers_changed, dispatch_uid="webhooks-tiers")
def tiers_sent(sender: Any, changes: list[TierChange], **kwargs: Any) -> None:
    if not _subscribed({"tier.changed"}):
        return
    members = webhook_members_data(member_ids={change.member_id for change in changes})
    tiers = {pk: tier.code for pk, tier in tiers_by_id().items()}
    webhook_events_emit(
        events=[
            (
                "tier.changed",
                {
                    "member": members[change.member_id],
                    "from_tier": tiers.get(change.from_tier_id) if change.from_tier_id else None,
                    "to_tier": tiers.get(change.to_tier_id) if change.to_tier_id else None,
                },
            )
            for change in changes
            if change.member_id in members
        ]
    )


@receiver(order_status_changed, dispatch_uid="webhooks-orders")
def order_sent(
    sender: Any, order_id: int, event_id: int, from_status: str, to_status: str, **kwargs: Any
) -> None:
    if not _subscribed({"order.status_changed"}):
        return
    from catalog.models import Order

    member_id = Order.objects.filter(pk=order_id).values_list("member_id", flat=True).first()
    if member_id is None:
        return
    members = webhook_members_data(member_ids={member_id})
    data = {
        "order_id": order_id,
        "order_event_id": event_id,
        "member": members.get(member_id),
        "from_status": from_status or None,
        "to_status": to_status,
    }
    webhook_events_emit(events=[("order.status_changed", data)])


@receiver(messages_settled, dispatch_uid="webhooks-messages")
def messages_sent(sender: Any, changes: list[MessageSettled], **kwargs: Any) -> None:
    if not _subscribed({f"message.{change.state}" for change in changes}):
        return
    members = webhook_members_data(member_ids={change.member_id for change in changes})
    webhook_events_emit(
        events=[
            (
                f"message.{change.state}",
                {
                    "message_id": change.message_id,
                    "member": members.get(change.member_id),
                    "channel": change.channel,
                    "template": change.template_code,
                    "error": change.error or None,
                },
            )
            for change in changes
        ]
    )
