"""Programme content of the demo brands (rules, tiers, gifts, a member with a login), written
through the same services the backoffice and the API use."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.imports import gift_import
from catalog.models import Category
from loyalty.models import LedgerEntry, Member
from loyalty.rule_examples import (
    DAMAGE_REPORT,
    DOUBLE_ON_FEATURED,
    POINT_PER_EURO,
    SUBURB_TO_PARIS_HAPPY_HOUR,
    ZONE_2_TO_PARIS_HAPPY_HOUR,
)
from loyalty.services.ledger import EntryCause, member_lock, points_credit
from loyalty.services.members import member_upsert
from loyalty.services.offers import offer_save
from loyalty.services.programme import programme_settings_update
from loyalty.services.rules import rule_create
from loyalty.services.tiers import tier_create
from themes.demo import demo_theme_seed

GIFT_COLUMNS = (
    "reference,name,category,kind,points_price,retail_value,retail_currency,stock,"
    "charity_name,donation_amount,donation_currency,is_featured,in_printed_catalogue"
)

PROGRAMMES: dict[str, dict] = {
    "citycar": {
        "settings": {"programme_name": "CityCar Miles", "expiry_policy": "end_of_year"},
        "rules": [
            SUBURB_TO_PARIS_HAPPY_HOUR,
            ZONE_2_TO_PARIS_HAPPY_HOUR,
            {**DAMAGE_REPORT, "limit_period": "day", "limit_points": 100},
        ],
        "tiers": [],
        "gifts": [
            "CC-5EUR,5 EUR trip credit,Credits,conversion,100,5.00,EUR,,,,,yes,yes",
            "CC-60MIN,60 free minutes,Credits,physical,300,12.00,EUR,500,,,,no,yes",
            "CC-TREE,Plant a tree,Give,donation,150,,,,Trees for Cities,5.00,EUR,no,no",
        ],
        "member": ("rider-001", "ana@citycar.example", 450),
    },
    "tabac-pro": {
        # A B2B programme: resellers are invited or activate with their letter's code, never sign up.
        "settings": {
            "programme_name": "Tabac Pro Points",
            "expiry_policy": "days",
            "expiry_days": 365,
            "signup_open": False,
        },
        "rules": [{**POINT_PER_EURO, "name": "1 point per euro bought"}, DOUBLE_ON_FEATURED],
        "tiers": [
            {"code": "silver", "name": "Silver", "threshold": "0"},
            {"code": "gold", "name": "Gold", "threshold": "5000", "earn_multiplier": "1.5"},
        ],
        "gifts": [
            "TP-CINE,Cinema ticket,Leisure,physical,400,11.50,EUR,200,,,,yes,yes",
            "TP-COFFEE,Coffee machine,Shop,physical,4000,89.00,EUR,20,,,,no,yes",
            "TP-10EUR,10 EUR voucher,Vouchers,conversion,200,10.00,EUR,,,,,no,no",
        ],
        "member": ("SIRET-40483304800022", "shop@tabac-pro.example", 1200),
    },
    "grand-cru": {
        "settings": {
            "programme_name": "Cellar Club",
            "tier_metric": "amount_spent",
            "tier_window": "rolling_months",
            "tier_window_months": 9,
            "tier_downgrade": "grace",
            "tier_grace_days": 30,
        },
        "rules": [{**POINT_PER_EURO, "apply_tier_multiplier": True}],
        "tiers": [
            {"code": "member", "name": "Member", "threshold": "0"},
            {
                "code": "vip",
                "name": "VIP",
                "threshold": "1000",
                "earn_multiplier": "2",
                "benefits": "Exclusive wines, private phone line, tastings by invitation",
            },
        ],
        "gifts": [
            "GC-TASTING,Private tasting for two,Experiences,physical,2500,120.00,EUR,12,,,,yes,yes",
            "GC-MAGNUM,Magnum of the month,Wines,physical,1500,65.00,EUR,30,,,,no,yes",
        ],
        "member": ("cust-1000", "claire@grand-cru.example", 800),
    },
}


def demo_programme_seed(*, slug: str) -> None:
    """Fill a freshly created demo brand (the current schema) with its programme."""
    programme = PROGRAMMES.get(slug)
    if programme is None:
        return
    with transaction.atomic():
        programme_settings_update(data=programme["settings"])
        demo_theme_seed(slug=slug)
        for rule in programme["rules"]:
            rule_create(data=rule)
        for tier in programme["tiers"]:
            tier_create(data={**tier, "threshold": Decimal(tier["threshold"])})
        for position, name in enumerate(dict.fromkeys(row.split(",")[2] for row in programme["gifts"])):
            Category.objects.get_or_create(slug=slugify(name), defaults={"name": name, "position": position})
        content = "\n".join([GIFT_COLUMNS, *programme["gifts"]]).encode()
        report = gift_import(content=content, filename="demo.csv", dry_run=False)
        if report.failed:
            raise RuntimeError(f"demo gifts of {slug} refused: {report.failed}")
        external_id, email, points = programme["member"]
        member, _ = member_upsert(
            external_id=external_id,
            data={
                "email": email,
                "first_name": email.split("@")[0].title(),
                **(
                    {
                        "kind": "reseller",
                        "company_name": "Tabac du Centre",
                        "siret": external_id[-14:],
                        "address_line1": "12 rue de la République",
                        "postal_code": "69002",
                        "city": "Lyon",
                        "country": "FR",
                    }
                    if slug == "tabac-pro"
                    else {}
                ),
            },
            consents={"email": True, "sms": True},
            source="demo",
        )
        user = get_user_model().objects.create_user(
            username=email, email=email, password=settings.DEMO_PASSWORD
        )
        Member.objects.filter(pk=member.pk).update(user=user)
        points_credit(
            member=member_lock(member_id=member.pk),
            points=points,
            kind=LedgerEntry.Kind.ADJUST,
            cause=EntryCause(reason="Welcome points (demo)"),
            at=timezone.now() - timedelta(days=1),
        )
        # The member site's personalised offer, shown once to every member on their dashboard.
        offer_save(
            data={
                "title": f"Welcome to {programme['settings']['programme_name']}",
                "text": "Your first points are in: see what they can already buy in the gift catalogue.",
                "starts_at": timezone.now() - timedelta(hours=1),
                "ends_at": timezone.now() + timedelta(days=30),
            }
        )
