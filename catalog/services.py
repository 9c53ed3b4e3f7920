"""Writes of the catalogue: redemption, the order state machine, service-credit pushes, gifts and
categories (created, changed, archived), voucher pools, photos.

Lock order, the same everywhere so that concurrent redemptions and cancellations never deadlock:
the member's row (`member_lock`) first, then the order row (cancellation), then gift rows ordered
by id, then voucher codes (`FOR UPDATE SKIP LOCKED`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import PurePosixPath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image, ImageOps, UnidentifiedImageError

from core.audit import audit_saved, audit_snapshot
from core.errors import Conflict, InvalidInput, NotFound, Refused
from core.limits import field_max_length
from core.outbox import enqueue_on_commit, requeue_after, requeue_at_for, retry_delay
from core.signals import signal_send_logged
from core.text import NUL, NUL_MESSAGE
from loyalty.models import LedgerEntry, Member, Tier
from loyalty.selectors.programme import programme_settings as loyalty_programme_settings
from loyalty.services.ledger import EntryCause, InsufficientPoints, member_lock, points_debit, points_restore
from tenants.selectors import schema_current

from .models import (
    CatalogSettings,
    Category,
    Gift,
    GiftPhoto,
    Order,
    OrderEvent,
    OrderLine,
    ServicePush,
    VoucherCode,
)
from .selectors import gift_refusal, gift_stock_left, member_gift_quantities
from .signals import order_status_changed

IDEMPOTENCY_KEY_MAX = field_max_length(model=Order, field="idempotency_key")

logger = logging.getLogger(__name__)

MAX_ITEMS = 50
MAX_QUANTITY = 100
MAX_POINTS = 2**31 - 1
THUMBNAIL_SIZE = (480, 480)


class RedemptionRefused(Refused):
    """A well-formed redemption the rules refuse: insufficient_points, out_of_stock, limit_reached,
    not_your_tier, not_your_space, unavailable, member_not_active. Nothing was taken."""


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class OrderTransitionError(Conflict):
    code = "invalid_transition"


class ServicePushFailed(Exception):
    """The brand's system did not accept a service-credit push (the task retries)."""


@dataclass(frozen=True)
class RedeemItem:
    gift_id: int
    quantity: int = 1


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    phone: str = ""

    REQUIRED = ("name", "line1", "postal_code", "city", "country")
    MAX_LENGTHS = {
        "name": 160,
        "line1": 160,
        "line2": 160,
        "postal_code": 16,
        "city": 80,
        "country": 2,
        "phone": 20,
    }

    def check(self) -> None:
        for field in self.REQUIRED:
            if not str(getattr(self, field) or "").strip():
                raise InvalidInput(f"{field} is required", field=f"shipping_address.{field}", code="required")
        for field, limit in self.MAX_LENGTHS.items():
            if len(str(getattr(self, field) or "")) > limit:
                raise InvalidInput(
                    f"{field} is at most {limit} characters",
                    field=f"shipping_address.{field}",
                    code="too_long",
                )
        if not self.country.isalpha():
            raise InvalidInput(
                "country is an ISO 3166 two-letter code", field="shipping_address.country", code="invalid"
            )


ORDER_TRANSITIONS: dict[str, set[str]] = {
    Order.Status.PLACED: {Order.Status.CONFIRMED, Order.Status.CANCELLED},
    Order.Status.CONFIRMED: {Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.CANCELLED},
    Order.Status.SHIPPED: {Order.Status.DELIVERED},
    Order.Status.DELIVERED: set(),
    Order.Status.CANCELLED: set(),
}


# --- redemption -------------------------------------------------------------------------------


def order_place(
    *,
    member_id: int,
    items: list[RedeemItem],
    idempotency_key: str,
    actor: str,
    shipping: ShippingAddress | None = None,
    at: datetime | None = None,
    paid_with: LedgerEntry | None = None,
) -> tuple[Order, bool]:
    """Redeem gifts: the points, the stock and the voucher codes are taken in one transaction, or
    nothing is taken and `RedemptionRefused` says why. Returns (order, created): the same key sent
    again returns the first order and takes nothing more.

    `paid_with`: a redeem debit of this member already taken (a points auction's winning bid, whose
    hold is its price) pays the order instead of a new debit: one gift, quantity 1, at the points
    that debit took, whether or not the gift is on sale in the store (the auction sold it)."""
    items = _items_check(items)
    if paid_with is not None and (len(items) != 1 or items[0].quantity != 1):
        raise InvalidInput("an order paid with a debit is one gift, quantity 1", field="items")
    key = (idempotency_key or "").strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidInput(
            f"an idempotency key of 1 to {IDEMPOTENCY_KEY_MAX} characters is required",
            field="idempotency_key",
        )
    fingerprint = _fingerprint(items, shipping)
    at = at or timezone.now()
    with transaction.atomic():
        try:
            member = member_lock(member_id=member_id)
        except Member.DoesNotExist:
            raise NotFound(f"no member {member_id}", field="member") from None
        # Under the member's lock, so a concurrent retry with the same key waits and finds this order.
        existing = Order.objects.filter(member=member, idempotency_key=key).first()
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise IdempotencyConflict(
                    "this idempotency key was already used for a different redemption",
                    field="idempotency_key",
                )
            return existing, False
        if member.status != Member.Status.ACTIVE:
            raise RedemptionRefused(
                gettext("the member account is %(status)s") % {"status": member.status},
                field="member",
                code="member_not_active",
            )

        gifts = {
            gift.pk: gift
            for gift in Gift.objects.select_for_update(no_key=True)
            .filter(pk__in=[item.gift_id for item in items])
            .order_by("pk")
            .prefetch_related("tiers")
        }
        limited = [pk for pk, gift in gifts.items() if gift.limit_per_member is not None]
        held = member_gift_quantities(member_id=member.pk, gift_ids=limited) if limited else {}
        for index, item in enumerate(items):
            _item_check(
                index=index,
                item=item,
                gift=gifts.get(item.gift_id),
                member=member,
                held=held,
                at=at,
                on_sale=paid_with is None,
            )
        if any(gifts[item.gift_id].is_physical for item in items):
            if shipping is None:
                raise InvalidInput(
                    gettext("a shipping address is required for physical gifts"),
                    field="shipping_address",
                    code="required",
                )
            shipping.check()

        if paid_with is not None:
            _paid_with_check(debit=paid_with, member=member)
            total = -paid_with.points
        else:
            total = sum(gifts[item.gift_id].points_price * item.quantity for item in items)
        if total > MAX_POINTS:  # more than any balance can hold (points are PostgreSQL integers)
            raise RedemptionRefused(
                gettext("not enough points: %(needed)s needed") % {"needed": total},
                field="items",
                code="insufficient_points",
            )
        order = Order.objects.create(
            member=member,
            idempotency_key=key,
            request_fingerprint=fingerprint,
            total_points=total,
            placed_at=at,
            **_shipping_fields(shipping),
        )
        try:
            debit = paid_with or points_debit(
                member=member,
                points=total,
                kind=LedgerEntry.Kind.REDEEM,
                cause=EntryCause(
                    source=f"order:{order.pk}",
                    reason=f"Redemption, order {order.pk}",
                    explanation={"order_id": order.pk, "gifts": {str(i.gift_id): i.quantity for i in items}},
                ),
                at=at,
                allow_overdraft=False,
            )
        except InsufficientPoints as error:
            raise RedemptionRefused(
                gettext("not enough points: %(needed)s needed, %(spendable)s available")
                % {"needed": error.needed, "spendable": error.spendable},
                field="items",
                code="insufficient_points",
            ) from None
        order.debit_entry = debit
        order.save(update_fields=["debit_entry"])
        lines = _lines_create(
            order=order, items=items, gifts=gifts, at=at, points_each=total if paid_with else None
        )
        _event_record(order=order, from_status="", to_status=Order.Status.PLACED, actor=actor, at=at)
        _service_push_queue(order=order, lines=lines, action="placed", at=at)
    return order, True


def _items_check(items: list[RedeemItem]) -> list[RedeemItem]:
    if not items:
        raise InvalidInput("at least one gift is required", field="items", code="required")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} gifts per order", field="items")
    seen: set[int] = set()
    for index, item in enumerate(items):
        if item.gift_id in seen:
            raise InvalidInput(
                f"gift {item.gift_id} appears twice: give one line per gift with its quantity",
                field=f"items[{index}].gift_id",
                code="duplicate",
            )
        seen.add(item.gift_id)
        if not 1 <= item.quantity <= MAX_QUANTITY:
            raise InvalidInput(
                f"a quantity is between 1 and {MAX_QUANTITY}", field=f"items[{index}].quantity"
            )
    return list(items)


def _paid_with_check(*, debit: LedgerEntry, member: Member) -> None:
    """`order_place`'s `paid_with`: a redeem debit of the member, given back to nobody, paying no
    other order (checked under the member's lock)."""
    if (
        debit.member_id != member.pk
        or debit.kind != LedgerEntry.Kind.REDEEM
        or debit.points >= 0
        or LedgerEntry.objects.filter(reverses=debit).exists()
        or Order.objects.filter(debit_entry=debit).exists()
    ):
        raise InvalidInput(
            f"ledger entry {debit.pk} is not a redeem debit of this member free to pay an order",
            field="paid_with",
        )


def _item_check(
    *,
    index: int,
    item: RedeemItem,
    gift: Gift | None,
    member: Member,
    held: dict[int, int],
    at: datetime,
    on_sale: bool = True,
) -> None:
    """`on_sale`: the gift must be on sale in the store now (not for an order `paid_with` a debit)."""
    field = f"items[{index}].gift_id"
    if gift is None:
        raise InvalidInput(f"no gift {item.gift_id}", field=field, code="not_found")
    refusal = gift_refusal(gift=gift, member=member, at=at)
    if refusal is not None and (on_sale or refusal.code != "unavailable"):
        raise RedemptionRefused(refusal.message, field=field, code=refusal.code)
    already = held.get(gift.pk, 0)
    if gift.limit_per_member is not None and already + item.quantity > gift.limit_per_member:
        raise RedemptionRefused(
            gettext("'%(gift)s' is limited to %(limit)s per member (you already have %(already)s)")
            % {"gift": gift.name, "limit": gift.limit_per_member, "already": already},
            field=f"items[{index}].quantity",
            code="limit_reached",
        )
    left = gift_stock_left(gift=gift)
    if left is not None and left < item.quantity:
        raise RedemptionRefused(
            gettext("'%(gift)s' is out of stock (%(left)s left)") % {"gift": gift.name, "left": left},
            field=f"items[{index}].quantity",
            code="out_of_stock",
        )


def _lines_create(
    *,
    order: Order,
    items: list[RedeemItem],
    gifts: dict[int, Gift],
    at: datetime,
    points_each: int | None = None,
) -> list[OrderLine]:
    """The order's lines, with what each kind of gift gives: stock taken, codes handed out,
    amounts recorded. Runs after the debit, so voucher codes are only locked by orders that pay.
    `points_each`: the price of its gifts when not the store's (an order `paid_with` a debit)."""
    programme = None
    lines = []
    for index, item in enumerate(items):
        gift = gifts[item.gift_id]
        line = OrderLine(
            order=order,
            gift=gift,
            kind=gift.kind,
            gift_name=gift.name,
            gift_reference=gift.reference,
            quantity=item.quantity,
            points_each=points_each or gift.points_price,
            points_total=(points_each or gift.points_price) * item.quantity,
        )
        # Each kind's fields are set (the gift's constraints).
        if gift.kind == Gift.Kind.DONATION:
            assert gift.donation_amount is not None
            line.amount = gift.donation_amount * item.quantity
            line.currency = gift.donation_currency
            line.charity_name = gift.charity_name
        elif gift.kind == Gift.Kind.SERVICE_CREDIT:
            line.service_code = gift.service_code
            assert gift.service_quantity is not None
            line.service_quantity = gift.service_quantity * item.quantity
        elif gift.kind == Gift.Kind.CONVERSION:
            programme = programme or loyalty_programme_settings()
            each = (Decimal(gift.points_price) * programme.unit_value / programme.points_per_unit).quantize(
                Decimal("0.01"), rounding=ROUND_DOWN
            )
            line.amount = each * item.quantity
            line.currency = programme.currency
        line.save()
        lines.append(line)
        if gift.stock is not None:
            Gift.objects.filter(pk=gift.pk).update(stock=F("stock") - item.quantity)
        if gift.kind == Gift.Kind.VOUCHER:
            _voucher_codes_take(index=index, line=line, gift=gift, quantity=item.quantity, at=at)
        elif gift.kind == Gift.Kind.CONVERSION:
            VoucherCode.objects.bulk_create(
                VoucherCode(gift=gift, code=_conversion_code(), order_line=line, used_at=at)
                for _ in range(item.quantity)
            )
    return lines


def _voucher_codes_take(*, index: int, line: OrderLine, gift: Gift, quantity: int, at: datetime) -> None:
    """Exactly `quantity` unused codes of the pool, skipping those another redemption holds."""
    code_ids = list(
        VoucherCode.objects.select_for_update(skip_locked=True)
        .filter(gift=gift, order_line__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:quantity]
    )
    if len(code_ids) < quantity:
        raise RedemptionRefused(
            f"'{gift.name}' is out of stock ({len(code_ids)} codes left)",
            field=f"items[{index}].quantity",
            code="out_of_stock",
        )
    VoucherCode.objects.filter(pk__in=code_ids).update(order_line=line, used_at=at)


def _conversion_code() -> str:
    return "CV-" + secrets.token_hex(6).upper()


def _fingerprint(items: list[RedeemItem], shipping: ShippingAddress | None) -> str:
    body = {
        "items": sorted([item.gift_id, item.quantity] for item in items),
        "shipping": asdict(shipping) if shipping else None,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _shipping_fields(shipping: ShippingAddress | None) -> dict[str, str]:
    if shipping is None:
        return {}
    return {
        "ship_name": shipping.name.strip(),
        "ship_line1": shipping.line1.strip(),
        "ship_line2": shipping.line2.strip(),
        "ship_postal_code": shipping.postal_code.strip(),
        "ship_city": shipping.city.strip(),
        "ship_country": shipping.country.strip().upper(),
        "ship_phone": shipping.phone.strip(),
    }


# --- the order state machine --------------------------------------------------------------------


def order_status_set(
    *,
    order_id: int,
    status: str,
    actor: str,
    tracking_ref: str = "",
    note: str = "",
    staff_user_id: int | None = None,
) -> tuple[Order, bool]:
    """Move an order along placed → confirmed → shipped (tracking reference) → delivered, or cancel
    it. Asking for the status it already has changes nothing (partners retry). Returns (order,
    changed)."""
    if status not in Order.Status.values:
        raise InvalidInput(
            f"'{status}' is not a status (use {', '.join(Order.Status.values)})", field="status"
        )
    if status == Order.Status.CANCELLED:
        return order_cancel(order_id=order_id, actor=actor, note=note, staff_user_id=staff_user_id)
    tracking_ref = (tracking_ref or "").strip()
    if len(tracking_ref) > 120:
        raise InvalidInput("a tracking reference is at most 120 characters", field="tracking_ref")
    with transaction.atomic():
        order = _order_lock(order_id=order_id)
        if order.status == status:
            return order, False
        if status not in ORDER_TRANSITIONS[order.status]:
            raise OrderTransitionError(
                f"an order that is {order.status} cannot become {status}", field="status"
            )
        physical = order.lines.filter(kind=Gift.Kind.PHYSICAL).exists()
        if status == Order.Status.SHIPPED:
            if not physical:
                raise OrderTransitionError("only orders of physical gifts are shipped", field="status")
            if not tracking_ref:
                raise InvalidInput(
                    "a tracking reference is required to ship", field="tracking_ref", code="required"
                )
            order.tracking_ref = tracking_ref
        if status == Order.Status.DELIVERED and order.status == Order.Status.CONFIRMED and physical:
            raise OrderTransitionError("a physical order is shipped before it is delivered", field="status")
        from_status, order.status = order.status, status
        order.save(update_fields=["status", "tracking_ref", "updated_at"])
        _event_record(
            order=order,
            from_status=from_status,
            to_status=status,
            actor=actor,
            staff_user_id=staff_user_id,
            note=note,
            tracking_ref=tracking_ref,
        )
    return order, True


def order_cancel(
    *,
    order_id: int,
    actor: str,
    note: str = "",
    staff_user_id: int | None = None,
    only_from: tuple[str, ...] = (Order.Status.PLACED, Order.Status.CONFIRMED),
) -> tuple[Order, bool]:
    """Cancel an order: its points go back into the lots they came from and its stock returns, once,
    even when two cancellations race. Voucher codes handed out are not returned to the pool.
    `only_from` narrows the statuses it may be cancelled from (members: only placed orders)."""
    member_id = Order.objects.filter(pk=order_id).values_list("member_id", flat=True).first()
    if member_id is None:
        raise NotFound(f"no order {order_id}", field="order")
    at = timezone.now()
    with transaction.atomic():
        member = member_lock(member_id=member_id)
        order = _order_lock(order_id=order_id)
        if order.status == Order.Status.CANCELLED:
            return order, False
        if order.status not in only_from:
            raise OrderTransitionError(f"an order that is {order.status} cannot be cancelled", field="status")
        lines = list(order.lines.all())
        stocked = list(
            Gift.objects.select_for_update(no_key=True)
            .filter(pk__in=[line.gift_id for line in lines], stock__isnull=False)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for line in lines:
            if line.gift_id in stocked:
                Gift.objects.filter(pk=line.gift_id).update(stock=F("stock") + line.quantity)
        assert order.debit_entry is not None  # set in the transaction that placed the order
        order.restore_entry = points_restore(
            member=member,
            debit=order.debit_entry,
            cause=EntryCause(
                source=f"order:{order.pk}",
                reason=f"Order {order.pk} cancelled" + (f": {note}" if note else ""),
                staff_user_id=staff_user_id,
                idempotency_key=f"order:{order.pk}:cancel",
            ),
            at=at,
        )
        from_status, order.status = order.status, Order.Status.CANCELLED
        order.save(update_fields=["status", "restore_entry", "updated_at"])
        _event_record(
            order=order,
            from_status=from_status,
            to_status=Order.Status.CANCELLED,
            actor=actor,
            staff_user_id=staff_user_id,
            note=note,
            at=at,
        )
        _service_push_queue(order=order, lines=lines, action="cancelled", at=at)
    return order, True


def _order_lock(*, order_id: int) -> Order:
    try:
        return Order.objects.select_for_update(no_key=True).get(pk=order_id)
    except Order.DoesNotExist:
        raise NotFound(f"no order {order_id}", field="order") from None


def _event_record(
    *,
    order: Order,
    from_status: str,
    to_status: str,
    actor: str,
    staff_user_id: int | None = None,
    note: str = "",
    tracking_ref: str = "",
    at: datetime | None = None,
) -> OrderEvent:
    """The order's history, and the hook for messages: `order_status_changed` fires after commit."""
    event = OrderEvent.objects.create(
        order=order,
        from_status=from_status,
        to_status=to_status,
        actor=actor[:80],
        staff_user_id=staff_user_id,
        note=note,
        tracking_ref=tracking_ref,
        created_at=at or timezone.now(),
    )
    schema_name = schema_current()
    transaction.on_commit(
        lambda: signal_send_logged(
            order_status_changed,
            sender=Order,
            order_id=order.pk,
            event_id=event.pk,
            from_status=from_status,
            to_status=to_status,
            schema_name=schema_name,
        )
    )
    return event


# --- service credits: pushed to the brand's system ----------------------------------------------


def _service_push_queue(*, order: Order, lines: list[OrderLine], action: str, at: datetime) -> None:
    """For an order with service credits, an outbox row for this event and a task to send it after
    commit (the outbox sweeper queues it again if that send is lost, core.outbox)."""
    lines = [line for line in lines if line.kind == Gift.Kind.SERVICE_CREDIT]
    if not lines:
        return
    from .tasks import service_push_send_task

    push = ServicePush.objects.create(
        order=order,
        action=action,
        payload={
            "event": f"order.{action}",
            "order_id": order.pk,
            "member_external_id": order.member.external_id,
            "occurred_at": at.isoformat(),
            "credits": [
                {
                    "service_code": line.service_code,
                    "quantity": line.service_quantity,
                    "gift": line.gift_reference,
                }
                for line in lines
            ],
        },
        requeue_at=timezone.now() + requeue_after(),
    )
    enqueue_on_commit(service_push_send_task, push.pk, push.attempts)


def service_pushes_send_again(*, push_ids: list[int]) -> int:
    """Staff's "send again": the waiting (pending or failed, given up included) pushes among
    `push_ids` are due again, their send queued after commit; with the broker down, the sweeper
    sends them. Returns how many."""
    from .tasks import service_push_send_task

    with transaction.atomic():
        waiting = list(
            ServicePush.objects.filter(
                pk__in=push_ids, status__in=[ServicePush.Status.PENDING, ServicePush.Status.FAILED]
            ).values_list("pk", "attempts")
        )
        ServicePush.objects.filter(pk__in=[pk for pk, _ in waiting]).update(
            requeue_at=timezone.now() + requeue_after()
        )
        for push_id, attempts in waiting:
            enqueue_on_commit(service_push_send_task, push_id, attempts)
    return len(waiting)


@dataclass(frozen=True)
class PushResult:
    status_code: int | None
    outbox: bool


class HttpServiceCreditProvider:
    """The one class that talks to the brand's system: a JSON POST with a bearer token."""

    timeout = 10

    def __init__(self, *, endpoint: str, token: str) -> None:
        self.endpoint = endpoint
        self.token = token

    def push(self, *, payload: dict, idempotency_key: str) -> PushResult:
        request = urllib.request.Request(  # noqa: S310 - the brand's configured http(s) URL
            self.endpoint,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
            | ({"Authorization": f"Bearer {self.token}"} if self.token else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return PushResult(status_code=response.status, outbox=False)
        except urllib.error.HTTPError as error:
            raise ServicePushFailed(f"HTTP {error.code} from {self.endpoint}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ServicePushFailed(f"{self.endpoint} unreachable: {error}") from error


class OutboxServiceCreditProvider:
    """No endpoint configured: the push stays in the development outbox, readable in the backoffice."""

    def push(self, *, payload: dict, idempotency_key: str) -> PushResult:
        return PushResult(status_code=None, outbox=True)


def service_credit_provider() -> HttpServiceCreditProvider | OutboxServiceCreditProvider:
    settings_row = CatalogSettings.objects.filter(pk=1).first()
    if settings_row is None or not settings_row.service_credit_endpoint:
        return OutboxServiceCreditProvider()
    return HttpServiceCreditProvider(
        endpoint=settings_row.service_credit_endpoint, token=settings_row.service_credit_token
    )


def service_push_send(*, push_id: int, attempts: int) -> ServicePush | None:
    """Send one outbox row, once, as its attempt number `attempts` + 1: the row stays locked while
    it is sent, a sent row is never sent again, and the receiver gets an Idempotency-Key to drop a
    replay after a crash. None (nothing done) when a send is under way, the row is sent, or it has
    had more attempts than `attempts` (another copy of this send made the attempt). A failure is
    recorded with the time the sweeper sends it again if its retry (`core.outbox.retry_delay`,
    queued by the task) is lost, or gives the push up."""
    with transaction.atomic():
        push = ServicePush.objects.select_for_update(skip_locked=True).filter(pk=push_id).first()
        if (
            push is None
            or push.status in (ServicePush.Status.SENT, ServicePush.Status.OUTBOX)
            or push.attempts != attempts
        ):
            return None
        push.attempts += 1
        try:
            result = service_credit_provider().push(
                payload=push.payload, idempotency_key=f"{schema_current()}-service-push-{push.pk}"
            )
        except ServicePushFailed as error:
            delay = retry_delay(attempts=push.attempts)
            push.status, push.last_error = ServicePush.Status.FAILED, str(error)[:2000]
            push.requeue_at = None if delay is None else requeue_at_for(at=timezone.now() + delay)
            logger.warning("service push %s failed (attempt %s): %s", push_id, push.attempts, error)
        else:
            push.status = ServicePush.Status.OUTBOX if result.outbox else ServicePush.Status.SENT
            push.response_status, push.sent_at, push.last_error = result.status_code, timezone.now(), ""
            push.requeue_at = None
        push.save()
    return push


# --- gifts and categories: what the backoffice, the imports and the API write ------------------------

# The fields of a gift that its writers set (the import's columns are the same).
GIFT_FIELDS = (
    "reference",
    "name",
    "description",
    "category",
    "kind",
    "points_price",
    "retail_value",
    "retail_currency",
    "stock",
    "limit_per_member",
    "available_from",
    "available_until",
    "tiers",
    "vip_only",
    "is_active",
    "is_featured",
    "in_printed_catalogue",
    "position",
    "charity_name",
    "donation_amount",
    "donation_currency",
    "service_code",
    "service_quantity",
)
CATEGORY_FIELDS = ("name", "slug", "position")


class GiftArchived(Conflict):
    code = "archived"


def gift_field_defaults() -> dict[str, Any]:
    """Every gift field at its default: what a full replacement (`PUT`) leaves unsaid."""
    defaults: dict[str, Any] = {"tiers": []}
    for field in Gift._meta.concrete_fields:
        if field.name in GIFT_FIELDS:
            defaults[field.name] = field.get_default()
    return defaults


def _fields_apply(instance: models.Model, *, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidInput(
            {name: ["is not a field of this resource"] for name in unknown}, code="unknown_field"
        )
    for name, value in data.items():
        if name == "tiers":
            continue
        field = instance._meta.get_field(name)
        if value is None and isinstance(field, models.CharField | models.TextField):
            value = ""  # text fields are blank, never null
        setattr(instance, name, value)


def _full_clean_errors(instance: models.Model) -> dict[str, list[str]]:
    """The model's own field checks and unique checks (its constraints are the services' checks,
    which name the field at fault; the database enforces them anyway)."""
    try:
        instance.full_clean(validate_constraints=False)
    except ValidationError as error:
        return {name: list(texts) for name, texts in error.message_dict.items()}
    return {}


def gift_validate(*, data: Mapping[str, Any], gift: Gift | None = None) -> Gift:
    """`gift` (or a new gift) with `data` applied and checked, not saved: the one validation of the
    backoffice form, the import and the API. `data` holds typed values (a `Category` or None, `Tier`s,
    Decimals, aware datetimes); an `InvalidInput` names each field at fault."""
    gift = gift or Gift()
    if gift.archived_at is not None:
        raise GiftArchived(f"gift {gift.pk} is archived: it cannot change", field="gift")
    original_kind = gift.kind if gift.pk else None
    _fields_apply(gift, data=data, allowed=GIFT_FIELDS)
    errors = _full_clean_errors(gift)
    tiers = list(data.get("tiers") or [])
    if any(not isinstance(tier, Tier) for tier in tiers):
        errors["tiers"] = ["a list of tiers"]

    def refuse(name: str, text: str) -> None:
        if name not in errors:
            errors[name] = [text]

    kind = Gift.Kind
    if gift.kind == kind.VOUCHER and gift.stock is not None:
        refuse("stock", "a voucher gift's stock is its pool of codes: leave the stock empty")
    if gift.kind == kind.DONATION:
        if not gift.charity_name:
            refuse("charity_name", "a donation needs the charity that receives it")
        if gift.donation_amount is None or gift.donation_amount <= 0:
            refuse("donation_amount", "a donation needs a positive amount given per unit")
        if not gift.donation_currency:
            refuse("donation_currency", "a donation needs the currency of its amount")
    if gift.kind == kind.SERVICE_CREDIT:
        if not gift.service_code:
            refuse("service_code", "a service credit needs the code the brand's system credits")
        if gift.service_quantity is None or gift.service_quantity < 1:
            refuse("service_quantity", "a service credit needs a quantity of at least 1")
    if gift.retail_value is not None and not gift.retail_currency:
        refuse("retail_currency", "a retail value needs its currency")
    if gift.retail_value is None and gift.retail_currency:
        refuse("retail_value", "a retail currency needs a value")
    if gift.available_from and gift.available_until and gift.available_until <= gift.available_from:
        refuse("available_until", "the availability window ends after it starts (available_from)")
    if original_kind is not None and gift.kind != original_kind and "kind" not in errors:
        if OrderLine.objects.filter(gift_id=gift.pk).exists() or gift.codes.exists():
            refuse("kind", f"stays {original_kind}: the gift already has orders or voucher codes")
    if errors:
        raise InvalidInput(errors)
    return gift


def _gift_save(*, gift: Gift, data: Mapping[str, Any]) -> Gift:
    try:
        with transaction.atomic():
            gift.save()
            if "tiers" in data:
                gift.tiers.set(list(data["tiers"] or []))
    except IntegrityError:  # a gift with the same reference saved at the same moment
        raise Conflict(
            f"another gift has the reference '{gift.reference}'", field="reference", code="duplicate"
        ) from None
    return gift


def gift_create(*, data: Mapping[str, Any]) -> Gift:
    """A new gift of any kind; a voucher gift's stock is the codes added to its pool afterwards."""
    with transaction.atomic():
        gift = _gift_save(gift=gift_validate(data=data), data=data)
        audit_saved(obj=gift, before=None)
    return gift


def _gift_lock(*, gift_id: int) -> Gift:
    gift = Gift.objects.select_for_update(no_key=True).filter(pk=gift_id).order_by().first()
    if gift is None:
        raise NotFound(f"no gift {gift_id}", field="gift_id")
    return gift


def gift_update(*, gift_id: int, data: Mapping[str, Any]) -> Gift:
    """Change the fields in `data` (the others stay). Under the gift's lock, so a stock set here and
    a redemption taking stock happen one after the other."""
    with transaction.atomic():
        locked = _gift_lock(gift_id=gift_id)
        before = audit_snapshot(locked)
        gift = _gift_save(gift=gift_validate(data=data, gift=locked), data=data)
        audit_saved(obj=gift, before=before)
    return gift


def gift_archive(*, gift_id: int, at: datetime | None = None) -> tuple[Gift, bool]:
    """Withdraw a gift for good: hidden from the member site and the gift list, never redeemable
    again, still readable by id (its orders keep pointing at it). Returns (gift, archived now);
    archiving it again changes nothing."""
    with transaction.atomic():
        gift = _gift_lock(gift_id=gift_id)
        if gift.archived_at is not None:
            return gift, False
        before = audit_snapshot(gift)
        gift.archived_at, gift.is_active = at or timezone.now(), False
        gift.save(update_fields=["archived_at", "is_active", "updated_at"])
        audit_saved(obj=gift, before=before, reason="archived")
    return gift, True


def category_validate(*, data: Mapping[str, Any], category: Category | None = None) -> Category:
    """`category` (or a new one) with `data` applied and checked, not saved (backoffice and API)."""
    category = category or Category()
    _fields_apply(category, data=data, allowed=CATEGORY_FIELDS)
    errors = _full_clean_errors(category)
    if errors:
        raise InvalidInput(errors)
    return category


def category_create(*, data: Mapping[str, Any]) -> Category:
    with transaction.atomic():
        category = category_validate(data=data)
        category.save()
        audit_saved(obj=category, before=None)
    return category


def category_update(*, category_id: int, data: Mapping[str, Any]) -> Category:
    with transaction.atomic():
        category = Category.objects.select_for_update().filter(pk=category_id).first()
        if category is None:
            raise NotFound(f"no category {category_id}", field="category")
        before = audit_snapshot(category)
        category = category_validate(data=data, category=category)
        category.save()
        audit_saved(obj=category, before=before)
    return category


# --- voucher pools -------------------------------------------------------------------------------

VOUCHER_CODE_MAX_LENGTH = VoucherCode._meta.get_field("code").max_length or 120
VOUCHER_CODES_MAX = 20_000  # per upload
_ERRORS_SHOWN = 50


@dataclass(frozen=True)
class VoucherCodeInput:
    """One code of an upload and where it is, for the errors: `line 3`, `codes[2]`."""

    where: str
    code: str


@dataclass(frozen=True)
class VoucherCodesAdded:
    added: int
    unused: int


def voucher_code_problem(code: str) -> str | None:
    """What is wrong with one code of an upload (stripped) on its own, or None."""
    if not code:
        return "is empty"
    if NUL in code:
        return NUL_MESSAGE
    if len(code) > VOUCHER_CODE_MAX_LENGTH:
        return f"'{code[:20]}…' is longer than {VOUCHER_CODE_MAX_LENGTH} characters"
    return None


def voucher_codes_add(*, gift_id: int, codes: Sequence[VoucherCodeInput]) -> VoucherCodesAdded:
    """Add codes to a voucher gift's pool: all of them, or none. A code repeated in the upload or
    already in the pool (used or not), empty, too long or holding a NUL is refused with where it
    is (`line 7: 'AB-1' is also on line 2`), and nothing is written."""
    if not codes:
        raise InvalidInput("give at least one code", field="codes", code="required")
    if len(codes) > VOUCHER_CODES_MAX:
        raise InvalidInput(f"at most {VOUCHER_CODES_MAX} codes per upload", field="codes")
    errors: dict[str, list[str]] = {}
    first_seen: dict[str, str] = {}
    for item in codes:
        code = item.code.strip()
        problem = voucher_code_problem(code)
        if problem:
            errors[item.where] = [problem]
        elif code in first_seen:
            errors[item.where] = [f"'{code}' is also on {first_seen[code]}"]
        else:
            first_seen[code] = item.where
    with transaction.atomic():
        gift = _gift_lock(gift_id=gift_id)  # one upload at a time per pool
        if gift.kind != Gift.Kind.VOUCHER:
            raise InvalidInput(f"'{gift.name}' is not a voucher gift", field="gift")
        if gift.archived_at is not None:
            raise GiftArchived(f"gift {gift.pk} is archived: its pool is closed", field="gift")
        fresh = list(first_seen)
        for start in range(0, len(fresh), 5_000):
            for code in VoucherCode.objects.filter(
                gift=gift, code__in=fresh[start : start + 5_000]
            ).values_list("code", flat=True):
                errors[first_seen[code]] = [f"'{code}' is already in the pool"]
        if errors:
            raise InvalidInput(dict(list(errors.items())[:_ERRORS_SHOWN]), code="duplicate")
        VoucherCode.objects.bulk_create(
            [VoucherCode(gift=gift, code=code) for code in fresh], batch_size=2_000
        )
        unused = gift.codes.filter(order_line__isnull=True).count()
    return VoucherCodesAdded(added=len(fresh), unused=unused)


# --- photos --------------------------------------------------------------------------------------

PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_MIN_SIDE = 64
PHOTO_MAX_SIDE = 8_000


def gift_photo_check(*, image: File) -> str:
    """The one check of a gift photo (backoffice and API): JPEG, PNG or WebP as Pillow reads it (not
    as its name says), at most PHOTO_MAX_BYTES, each side PHOTO_MIN_SIDE to PHOTO_MAX_SIDE pixels.
    Returns the file name to store it under: its own stem, the extension of what it really is, so
    the media view serves it with the right type."""
    if image.size is not None and image.size > PHOTO_MAX_BYTES:
        raise InvalidInput(f"at most {PHOTO_MAX_BYTES // 1024 // 1024} MB", field="image", code="too_large")
    try:
        image.seek(0)
        with Image.open(image) as opened:
            found, (width, height) = opened.format, opened.size
            opened.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput("not an image (JPEG, PNG or WebP)", field="image") from None
    finally:
        image.seek(0)
    if found not in PHOTO_FORMATS:
        raise InvalidInput(f"a JPEG, PNG or WebP image, not {found}", field="image")
    if not (PHOTO_MIN_SIDE <= width <= PHOTO_MAX_SIDE and PHOTO_MIN_SIDE <= height <= PHOTO_MAX_SIDE):
        raise InvalidInput(
            f"{width}x{height} pixels: each side is {PHOTO_MIN_SIDE} to {PHOTO_MAX_SIDE} pixels",
            field="image",
        )
    stem = PurePosixPath(image.name or "").stem or "photo"
    return f"{stem}.{PHOTO_FORMATS[found]}"


def gift_photo_add(
    *, gift_id: int, image: File, alt_text: str = "", position: int | None = None
) -> GiftPhoto:
    """A photo of a gift, checked (`gift_photo_check`) and stored as the backoffice stores it: in
    the brand's media folder under `gifts/<gift id>/`, with its thumbnail. Without a position, it
    comes after the gift's other photos."""
    name = gift_photo_check(image=image)
    if len(alt_text) > 160:
        raise InvalidInput("at most 160 characters", field="alt_text")
    if position is not None and not 0 <= position <= MAX_POINTS:
        raise InvalidInput(f"from 0 to {MAX_POINTS}", field="position")
    image.name = name
    with transaction.atomic():
        gift = _gift_lock(gift_id=gift_id)
        if gift.archived_at is not None:
            raise GiftArchived(f"gift {gift.pk} is archived: it cannot change", field="gift")
        if position is None:
            last = gift.photos.order_by("-position").values_list("position", flat=True).first()
            position = 0 if last is None else last + 1
        photo = GiftPhoto(gift=gift, image=image, alt_text=alt_text, position=position)
        try:
            photo.save()
            gift_photo_thumbnail_build(photo=photo)
        except BaseException:
            for stored in (photo.image, photo.thumbnail):
                if stored:
                    stored.storage.delete(stored.name)
            raise
    return photo


def gift_photo_delete(*, gift_id: int, photo_id: int) -> None:
    """Remove a photo of a gift, and its files once the removal is committed."""
    with transaction.atomic():
        gift = _gift_lock(gift_id=gift_id)
        if gift.archived_at is not None:
            raise GiftArchived(f"gift {gift.pk} is archived: it cannot change", field="gift")
        photo = GiftPhoto.objects.filter(gift=gift, pk=photo_id).first()
        if photo is None:
            raise NotFound(f"gift {gift_id} has no photo {photo_id}", field="photo_id")
        files = [(stored.storage, stored.name) for stored in (photo.image, photo.thumbnail) if stored]
        photo.delete()
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in files])


def gift_photo_thumbnail_build(*, photo: GiftPhoto) -> GiftPhoto:
    """A JPEG thumbnail of the photo (rotated as the camera said), next to it in the brand's folder."""
    try:
        photo.image.open("rb")
        with Image.open(photo.image) as source:
            image = ImageOps.exif_transpose(source).convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise InvalidInput("the file is not an image Pillow can read", field="image") from error
    finally:
        photo.image.close()
    image.thumbnail(THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    if photo.thumbnail:
        photo.thumbnail.delete(save=False)
    stem = PurePosixPath(photo.image.name).stem
    photo.thumbnail.save(f"thumb-{stem}.jpg", ContentFile(buffer.getvalue()), save=False)
    photo.save(update_fields=["thumbnail"])
    return photo
