"""The catalogue's part of GDPR exports and erasures (`core.privacy`): the member's orders. Erasing
clears the shipping addresses and replaces the person's texts in the orders' notes; the orders,
their lines, points and dates stay (the ledger's debits point at them)."""

from __future__ import annotations

from core.privacy import Person, object_history_redact, privacy_register, rows_redact
from loyalty.models import Member

from .models import Order, OrderEvent

SHIPPING_FIELDS = ("ship_name", "ship_line1", "ship_line2", "ship_postal_code", "ship_city", "ship_phone")


def _export(member: Member) -> dict:
    orders = (
        Order.objects.filter(member=member).prefetch_related("lines", "events").order_by("placed_at", "pk")
    )
    return {
        "orders": [
            {
                "id": order.pk,
                "placed_at": order.placed_at,
                "status": order.status,
                "total_points": order.total_points,
                "shipping": {field: getattr(order, field) for field in (*SHIPPING_FIELDS, "ship_country")},
                "tracking_ref": order.tracking_ref,
                "lines": [
                    {
                        "gift": line.gift_reference,
                        "name": line.gift_name,
                        "quantity": line.quantity,
                        "points": line.points_total,
                    }
                    for line in order.lines.all()
                ],
                "history": [
                    {
                        "at": event.created_at,
                        "from": event.from_status,
                        "to": event.to_status,
                        "note": event.note,
                    }
                    for event in order.events.all()
                ],
            }
            for order in orders
        ]
    }


def _erase(member: Member, person: Person) -> None:
    orders = Order.objects.filter(member=member)
    for order in orders.only("pk"):
        object_history_redact(obj=order, fields=SHIPPING_FIELDS, object_repr=str(order))
    orders.update(**dict.fromkeys(SHIPPING_FIELDS, ""))
    rows_redact(OrderEvent.objects.filter(order__member=member), fields=["note"], texts=person.texts)


privacy_register(app="catalog", export=_export, erase=_erase)
