"""Writes of points auctions (README "Community > Auctions"): staff set an auction up, members bid,
the close places the winner's order, a cancel gives every hold back.

Points move only through the ledger: a bid holds its points with `points_debit` (a `redeem` entry,
the bid's `hold_entry`); the bid it outbids gets them back at once with `points_restore` (its
`release_entry`); at the close the winning hold is what pays the order (`catalog.services.
order_place(paid_with=...)`: no second debit). At any time a member's held points are exactly their
leading bids' holds.

Lock order, the same in every write here so that concurrent bids, closes and cancels never deadlock:
1. the auction's row (`_auction_lock`), always first: bids, closes and cancels of one auction run
   one after the other, so two bids never both lead and a bid never lands after the close;
2. then member rows in id order (`member_lock`): in `bid_place` the leading bidder's (to release
   their hold) and the bidder's; in `auction_close` the winner's (inside `order_place`, which then
   locks the gift: catalog's own order, member then gifts); in `auction_cancel` the leader's;
3. then the ledger's lots (the ledger's own locks).
Catalog's redemptions lock a member then gifts and never an auction: no cycle."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.selectors import gift_refusal
from catalog.services import RedeemItem, ShippingAddress, order_place
from community.models import Auction, Bid
from core.errors import Conflict, DomainError, InvalidInput, NotFound, Refused
from core.limits import field_max_length
from loyalty.models import LedgerEntry, Member
from loyalty.services.ledger import EntryCause, InsufficientPoints, member_lock, points_debit, points_restore
from messaging.models import TriggerKind
from messaging.triggers import trigger_fire

logger = logging.getLogger(__name__)

AUCTION_FIELDS = (
    "gift",
    "title",
    "description",
    "starting_points",
    "min_increment",
    "opens_at",
    "closes_at",
)
# What an auction with bids keeps: its bidders bid on these.
FIXED_ONCE_BID = ("gift", "starting_points", "min_increment", "opens_at")
BID_KEY_MAX = field_max_length(model=Bid, field="idempotency_key")
MAX_POINTS = 2**31 - 1
ORDER_ACTOR = "auction"


# --- staff: setting an auction up -------------------------------------------------------------------


def auction_validate(*, data: Mapping[str, Any], auction: Auction | None = None) -> Auction:
    """The auction with `data` applied, checked (not saved): field-named `InvalidInput` otherwise.
    A closed or cancelled auction changes no more; one with bids keeps its gift, starting bid,
    raise and opening (its closing time may move, not into the past)."""
    auction = auction or Auction()
    before = {name: getattr(auction, name if name != "gift" else "gift_id") for name in FIXED_ONCE_BID}
    for name in AUCTION_FIELDS:
        if name in data:
            setattr(auction, name, data[name])
    errors: dict[str, list[str]] = {}
    if auction.pk is not None:
        if auction.state != Auction.State.SCHEDULED:
            raise InvalidInput(f"a {auction.state} auction cannot be changed", field="state")
        if Bid.objects.filter(auction_id=auction.pk).exists():
            for name in FIXED_ONCE_BID:
                if getattr(auction, name if name != "gift" else "gift_id") != before[name]:
                    errors[name] = ["cannot change once members have bid"]
            if auction.closes_at is not None and auction.closes_at <= timezone.now():
                errors["closes_at"] = ["an auction with bids cannot close in the past"]
    try:
        # The table's constraints are checked here, each on its field.
        auction.full_clean(exclude=["state", "order", "closed_at"], validate_constraints=False)
    except ValidationError as error:
        for name, texts in error.message_dict.items():
            errors.setdefault(name, []).extend(texts)
    for name in ("starting_points", "min_increment"):
        value = getattr(auction, name)
        if name not in errors and isinstance(value, int) and value < 1:
            errors[name] = ["must be at least 1 point"]
    if auction.opens_at and auction.closes_at and auction.closes_at <= auction.opens_at:
        errors.setdefault("closes_at", []).append("must be after the opening")
    if errors:
        raise InvalidInput(errors)
    return auction


def auction_save(*, data: Mapping[str, Any], auction_id: int | None = None) -> Auction:
    """Create (`auction_id` None) or change an auction, under its lock."""
    with transaction.atomic():
        current = _auction_lock(auction_id) if auction_id is not None else None
        auction = auction_validate(data=data, auction=current)
        auction.save()
    return auction


def _auction_lock(auction_id: int) -> Auction:
    auction = (
        Auction.objects.select_for_update(of=("self",)).select_related("gift").filter(pk=auction_id).first()
    )
    if auction is None:
        raise NotFound(f"no auction {auction_id}", field="auction")
    return auction


# --- members: bidding ---------------------------------------------------------------------------


def bid_minimum(*, auction: Auction, leading: Bid | None) -> int:
    """The lowest bid accepted now: the starting bid, or the leading bid plus the minimum raise."""
    if leading is None:
        return auction.starting_points
    return max(auction.starting_points, leading.points + auction.min_increment)


def bid_place(
    *, auction_id: int, member: Member, points: int, idempotency_key: str = "", now: datetime | None = None
) -> Bid:
    """The member bids `points` on the auction: the points are held at once (a redeem debit), the
    bid leads, and the bid it outbids gets its points back at once (its bidder told after commit).

    Lock order (module docstring): the auction's row, then the leading bidder's and the bidder's
    member rows in id order. Refused (`Refused`, nothing written) before `opens_at`, from
    `closes_at` on, below `bid_minimum`, when the member may not have the gift (tier, VIP, club
    space), lacks a postal address for a physical gift, or has too few points. A member raising
    their own leading bid may: their old hold comes back and the new one is taken, in one
    transaction. `idempotency_key`: the same key sent again returns the first bid and takes
    nothing more (a double click)."""
    now = now or timezone.now()
    key = (idempotency_key or "").strip()
    if len(key) > BID_KEY_MAX:
        raise InvalidInput(f"an idempotency key is at most {BID_KEY_MAX} characters", field="idempotency_key")
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
        raise InvalidInput("a bid is a whole number of points, at least 1", field="points")
    with transaction.atomic():
        auction = _auction_lock(auction_id)
        if key:
            existing = Bid.objects.filter(auction=auction, member_id=member.pk, idempotency_key=key).first()
            if existing is not None:
                if existing.points != points:
                    raise Conflict(
                        "this idempotency key was already used for another bid", field="idempotency_key"
                    )
                return existing
        _bidding_open_check(auction=auction, now=now)
        leading = (
            Bid.objects.filter(auction=auction, state=Bid.State.LEADING).select_related("hold_entry").first()
        )
        minimum = bid_minimum(auction=auction, leading=leading)
        if points < minimum:
            raise Refused(f"a bid is at least {minimum} points now", code="bid_too_low", field="points")
        ids = sorted({member.pk} | ({leading.member_id} if leading else set()))
        locked = {pk: member_lock(member_id=pk) for pk in ids}
        bidder = locked[member.pk]
        _bidder_check(auction=auction, bidder=bidder, now=now)
        if leading is not None:
            _hold_release(bid=leading, member=locked[leading.member_id], state=Bid.State.OUTBID, at=now)
        try:
            hold = points_debit(
                member=bidder,
                points=points,
                kind=LedgerEntry.Kind.REDEEM,
                cause=EntryCause(
                    source=f"auction:{auction.pk}",
                    reason=f"Auction bid, auction {auction.pk}",
                    explanation={"auction_id": auction.pk, "gift_id": auction.gift_id},
                ),
                at=now,
                allow_overdraft=False,
            )
        except InsufficientPoints as error:
            raise Refused(
                f"not enough points: {error.needed} needed, {error.spendable} available",
                code="insufficient_points",
                field="points",
            ) from None
        assert hold is not None  # not `partial`: too few points is refused above
        bid = Bid.objects.create(
            auction=auction, member=bidder, points=points, hold_entry=hold, idempotency_key=key, placed_at=now
        )
        if leading is not None and leading.member_id != bidder.pk:
            outbid = locked[leading.member_id]
            transaction.on_commit(lambda: _tell(kind=TriggerKind.AUCTION_OUTBID, bid=leading, member=outbid))
    return bid


def _bidding_open_check(*, auction: Auction, now: datetime) -> None:
    if auction.state != Auction.State.SCHEDULED or now >= auction.closes_at:
        raise Refused("this auction is closed", code="auction_closed", field="auction")
    if now < auction.opens_at:
        raise Refused("this auction is not open for bids yet", code="auction_not_open", field="auction")


def _bidder_check(*, auction: Auction, bidder: Member, now: datetime) -> None:
    """May the (locked) bidder win the gift? The store's refusals but "not on sale" (auctioned gifts
    are often kept out of the store), and a postal address where the gift is sent."""
    refusal = gift_refusal(gift=auction.gift, member=bidder, at=now)
    if refusal is not None and refusal.code != "unavailable":
        raise Refused(refusal.message, code=refusal.code, field="member")
    if auction.gift.is_physical:
        try:
            shipping_of(bidder).check()
        except InvalidInput:
            raise Refused(
                "a postal address is needed to bid on a gift that is sent: add it to your account first",
                code="address_missing",
                field="address",
            ) from None


def shipping_of(member: Member) -> ShippingAddress:
    """Where a won physical gift is sent: the member's address on their account."""
    return ShippingAddress(
        name=f"{member.first_name} {member.last_name}".strip() or member.company_name,
        line1=member.address_line1,
        line2=member.address_line2,
        postal_code=member.postal_code,
        city=member.city,
        country=member.country.upper(),
        phone=member.phone,
    )


def _hold_release(*, bid: Bid, member: Member, state: str, at: datetime) -> None:
    """The bid's held points back into the lots they came from (the member locked by the caller)."""
    bid.release_entry = points_restore(
        member=member,
        debit=bid.hold_entry,
        cause=EntryCause(
            source=f"auction:{bid.auction_id}",
            reason=f"Auction bid given back, auction {bid.auction_id}",
            idempotency_key=f"auction:{bid.auction_id}:bid:{bid.pk}:release",
        ),
        at=at,
    )
    bid.state = state
    bid.save(update_fields=["release_entry", "state"])


# --- closing and cancelling ---------------------------------------------------------------------


def auction_close(*, auction_id: int, now: datetime | None = None) -> Auction:
    """Close the auction once, at or after `closes_at`: the leading bid wins and its hold pays the
    winner's order for the gift (stock taken as every order takes it), the winner told after
    commit. Closing a closed auction again changes nothing (also two closes at once: the second
    waits for the auction's lock, then finds it closed). When the order cannot be placed (the gift
    out of stock, the winner's account closed or their address removed), nothing changes: the
    error is raised, the hold is kept, and the close is tried again by the task until staff fix it
    or cancel the auction (which gives the points back)."""
    now = now or timezone.now()
    with transaction.atomic():
        auction = _auction_lock(auction_id)
        if auction.state == Auction.State.CLOSED:
            return auction
        if auction.state == Auction.State.CANCELLED:
            raise Conflict("this auction was cancelled", field="auction")
        if now < auction.closes_at:
            raise Refused("this auction closes later", code="auction_not_over", field="auction")
        leading = (
            Bid.objects.filter(auction=auction, state=Bid.State.LEADING).select_related("hold_entry").first()
        )
        if leading is not None:
            winner = Member.objects.get(pk=leading.member_id)
            order, _ = order_place(
                member_id=winner.pk,
                items=[RedeemItem(gift_id=auction.gift_id)],
                idempotency_key=f"auction:{auction.pk}",
                actor=ORDER_ACTOR,
                shipping=shipping_of(winner) if auction.gift.is_physical else None,
                at=now,
                paid_with=leading.hold_entry,
            )
            leading.state = Bid.State.WON
            leading.save(update_fields=["state"])
            auction.order = order
            transaction.on_commit(lambda: _tell(kind=TriggerKind.AUCTION_WON, bid=leading, member=winner))
        auction.state = Auction.State.CLOSED
        auction.closed_at = now
        auction.save(update_fields=["state", "order", "closed_at"])
    return auction


def auction_cancel(*, auction_id: int, now: datetime | None = None) -> Auction:
    """Cancel a scheduled auction: every hold is given back (the leading bid's; the outbid ones
    were already), once. A closed auction is not cancelled (its order is, in the catalogue)."""
    now = now or timezone.now()
    with transaction.atomic():
        auction = _auction_lock(auction_id)
        if auction.state == Auction.State.CANCELLED:
            return auction
        if auction.state == Auction.State.CLOSED:
            raise Conflict("a closed auction is not cancelled: cancel its order", field="auction")
        held = list(
            Bid.objects.filter(auction=auction, state=Bid.State.LEADING, release_entry__isnull=True)
            .select_related("hold_entry")
            .order_by("member_id")
        )
        for bid in held:
            _hold_release(
                bid=bid, member=member_lock(member_id=bid.member_id), state=Bid.State.RELEASED, at=now
            )
        auction.state = Auction.State.CANCELLED
        auction.closed_at = now
        auction.save(update_fields=["state", "closed_at"])
    return auction


def auctions_close_due(*, now: datetime | None = None) -> int:
    """Close every scheduled auction whose closing time has passed (the beat task, in the current
    brand): each in its own transaction; one that cannot close is logged and the others go on.
    How many were closed."""
    now = now or timezone.now()
    closed = 0
    due = Auction.objects.filter(state=Auction.State.SCHEDULED, closes_at__lte=now).order_by(
        "closes_at", "pk"
    )
    for auction_id in due.values_list("pk", flat=True):
        try:
            auction_close(auction_id=auction_id, now=now)
        except DomainError as error:
            logger.warning("auction %s not closed: %s", auction_id, error)
        else:
            closed += 1
    return closed


# --- messages ---------------------------------------------------------------------------------


def _tell(*, kind: str, bid: Bid, member: Member) -> None:
    """The `auction_outbid` or `auction_won` message, once per bid (after commit). The templates'
    variables are messaging's: `gift` (what is auctioned), `order_number` (won), `balance` (the
    points given back count in it) and `site_url` (the auctions are at community/auctions/)."""
    auction = Auction.objects.select_related("gift").get(pk=bid.auction_id)
    variables: dict[str, object] = {"gift": auction.gift.name}
    if auction.order_id is not None:
        variables["order_number"] = str(auction.order_id)
    trigger_fire(
        kind=kind, member=member, variables=variables, dedupe_key=f"auction:{auction.pk}:bid:{bid.pk}"
    )
