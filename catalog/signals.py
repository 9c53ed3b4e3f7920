"""Hooks other apps listen to (the messaging app sends its messages from them)."""

from django.dispatch import Signal

# Sent after the transaction that changed an order's status commits, in the brand's schema, with
# order_id, event_id (the OrderEvent), from_status ("" when placed), to_status and schema_name.
# Receivers that do slow work do not do it here: they store an outbox row in a transaction (their
# own: the order's has committed), then queue its send with core.outbox.enqueue_on_commit. A task
# queued with no row stored is lost when the broker is down.
order_status_changed = Signal()
