"""Hooks other apps listen to (the messaging app sends its messages from them)."""

from django.dispatch import Signal

# Sent after the transaction that changed an order's status commits, in the brand's schema, with
# order_id, event_id (the OrderEvent), from_status ("" when placed), to_status and schema_name.
# Receivers that do slow work queue a task (core.outbox.enqueue_on_commit) instead of doing it here.
order_status_changed = Signal()
