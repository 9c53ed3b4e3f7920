"""The demo brands' points auctions, seeded by `tenants.demo.demo_seed` at every `make run` when the
brand has none yet (staff changes are kept): Grand Cru auctions a rare bottle, kept out of the
store (one in stock), open for a week, with two collectors' bids already (the first outbid, their
points back); the demo member (claire@grand-cru.example, 800 points) can bid once their postal
address is on their account (/account/profile/). The `auction_outbid` and `auction_won` messages
are e-mails in English and French, to the development outbox."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from catalog.models import Gift
from catalog.services import gift_create
from community.models import Auction
from community.services.auctions import auction_save, bid_place
from loyalty.models import LedgerEntry
from loyalty.services.ledger import EntryCause, member_lock, points_credit
from loyalty.services.members import member_upsert
from messaging.demo import DemoTemplate, demo_triggered_templates_seed
from messaging.models import TriggerKind
from tenants.selectors import brand_timezone

BOTTLE = {
    "reference": "GC-PETRUS-1990",
    "name": "Château Pétrus 1990, one bottle",
    "description": "From a private cellar, stored at 12 °C since release. Sent insured.",
    "kind": Gift.Kind.PHYSICAL,
    "points_price": 9000,
    "retail_value": Decimal("4200.00"),
    "retail_currency": "EUR",
    "stock": 1,
    "is_active": False,  # not in the store: only the auction sells it
}
AUCTION = {
    "title": "Château Pétrus 1990: a single bottle",
    "description": (
        "**One bottle** of the legendary 1990 vintage, from a private cellar in Libourne.\n\n"
        "Bid in points: your bid is held until someone bids higher (your points then come back at "
        "once) or the auction closes. The winner's order is placed at the close and the bottle sent "
        "to the address of their account."
    ),
    "starting_points": 400,
    "min_increment": 25,
}
# (external id, first name, last name, city, points, bid)
COLLECTORS = (
    ("collector-01", "Hugo", "Marchal", "Bordeaux", 2000, 450),
    ("collector-02", "Inès", "Ferrand", "Lyon", 2000, 500),
)

OUTBID = DemoTemplate(
    "auction-outbid",
    "email",
    "service",
    "Auction outbid e-mail",
    {
        "en": (
            "You were outbid: {{ gift }}",
            "Hello {{ first_name }},\n\nSomeone bid higher for {{ gift }}. The points of your bid are back: "
            "your balance is {{ balance }} points.\n\nBid again before the close: "
            "{{ site_url }}community/auctions/\n\nThe {{ programme_name }} team",
        ),
        "fr": (
            "Votre enchère est dépassée : {{ gift }}",
            "Bonjour {{ first_name }},\n\nQuelqu'un a enchéri plus haut pour {{ gift }}. Les points de votre "
            "enchère vous sont rendus : votre solde est de {{ balance }} points.\n\nEnchérissez de nouveau "
            "avant la clôture : {{ site_url }}community/auctions/\n\nL'équipe {{ programme_name }}",
        ),
    },
)
WON = DemoTemplate(
    "auction-won",
    "email",
    "service",
    "Auction won e-mail",
    {
        "en": (
            "You won the auction: {{ gift }}",
            "Hello {{ first_name }},\n\nCongratulations, your bid won {{ gift }}. Your order "
            "{{ order_number }} is placed and paid with the points of your bid.\n\n"
            "Follow it here: {{ site_url }}orders/\n\n"
            "The {{ programme_name }} team",
        ),
        "fr": (
            "Vous avez remporté l'enchère : {{ gift }}",
            "Bonjour {{ first_name }},\n\nFélicitations, votre enchère remporte {{ gift }}. Votre commande "
            "{{ order_number }} est passée, réglée avec les points de votre enchère.\n\nSuivez-la ici : "
            "{{ site_url }}orders/\n\nL'équipe {{ programme_name }}",
        ),
    },
)


def seed(*, slug: str) -> None:
    """In the current schema (a demo brand of `tenants.demo`), idempotent."""
    if slug != "grand-cru":
        return
    demo_triggered_templates_seed(
        templates=[(TriggerKind.AUCTION_OUTBID, OUTBID), (TriggerKind.AUCTION_WON, WON)]
    )
    if Auction.objects.exists():
        return
    with transaction.atomic():
        gift = Gift.objects.filter(reference=BOTTLE["reference"]).first() or gift_create(data=BOTTLE)
        auction = auction_save(data={"gift": gift, **AUCTION, **_window()})
        for external_id, first_name, last_name, city, points, bid in COLLECTORS:
            member, created = member_upsert(
                external_id=external_id,
                data={
                    "email": f"{external_id}@collectors.example",
                    "first_name": first_name,
                    "last_name": last_name,
                    "address_line1": "8 cours de l'Intendance",
                    "postal_code": "33000",
                    "city": city,
                    "country": "FR",
                },
                source="demo",
            )
            # Their own ids: another part's demo members are not theirs to spend.
            if created:
                points_credit(
                    member=member_lock(member_id=member.pk),
                    points=points,
                    kind=LedgerEntry.Kind.ADJUST,
                    cause=EntryCause(reason="Welcome points (demo)"),
                )
            bid_place(auction_id=auction.pk, member=member, points=bid, idempotency_key="demo")


def _window() -> dict[str, datetime]:
    """Opened yesterday, closing in six days at 20:00 in the brand's timezone."""
    tz = brand_timezone()
    today = timezone.now().astimezone(tz).date()
    return {
        "opens_at": timezone.now() - timedelta(days=1),
        "closes_at": datetime.combine(today + timedelta(days=6), time(20, 0), tzinfo=tz),
    }
