"""Makers of the community's test data, shared by its test modules, the isolation tests and the
browser tests: review subjects, purchases and review triggers; reviews written and moderated;
damage reports' photos; auctions and their bidders; club services; prize draws. Members, points and
templates come from `tests.factories`, gifts from `tests.catalog.factories`."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from billing.services.vip import vip_grant_set
from clubs.models import Space
from clubs.services import space_save
from community.models import Auction, ClubService, Draw, Review, Subject
from community.services.auctions import auction_save
from community.services.draws import draw_create
from community.services.moderation import moderation_apply
from community.services.reviews import review_submit
from loyalty.models import ActivityEvent, EventType, Member
from messaging.triggers import trigger_put
from tests.catalog.factories import ADDRESS, gift_make
from tests.factories import member_make, template_make

# --- reviews: subjects, purchases, triggers, reviews ---------------------------------------------


def subject_make(*, kind: str = "product", reference: str | None = None, **data) -> Subject:
    reference = reference or f"SKU-{uuid.uuid4().hex[:8]}"
    return Subject.objects.create(kind=kind, reference=reference, name=data.pop("name", reference), **data)


def purchase(
    member: Member, *, at: datetime | None = None, type: str = "purchase", **attributes
) -> ActivityEvent:
    """A purchase event of the member as the pipeline stores one (no points: rules are not the point)."""
    EventType.objects.get_or_create(code=type, defaults={"name": type})
    return ActivityEvent.objects.create(
        idempotency_key=f"t-{uuid.uuid4().hex}",
        member=member,
        type=type,
        occurred_at=at or timezone.now() - timedelta(hours=1),
        attributes=attributes,
    )


def review_triggers_on(*kinds: str) -> None:
    """The review triggers of `kinds` on, by SMS, with a service template (members need a phone)."""
    for kind in kinds:
        code = kind.replace("_", "-")
        template_make(code, body="{{ first_name }}: {{ subject_name }} {{ review_url }}", purpose="service")
        trigger_put(kind=kind, channel="sms", data={"template_code": code, "is_active": True})


# A subject with a fixed reference and name (a wine by default), as the review pages show it.
def named_subject_make(
    reference: str = "CHX-2015", *, name: str = "Château Margaux 2015", **extra
) -> Subject:
    return Subject.objects.create(reference=reference, name=name, **extra)


def review_make(subject: Subject, rating: int, *, text: str = "", language: str = "en", **extra) -> Review:
    """A review of a new member through the service (published unless the moderation holds it)."""
    member = member_make(**extra.pop("member", {}))
    return review_submit(
        member=member,
        subject_id=subject.pk,
        rating=rating,
        text=text or f"A {rating}-star opinion.",
        language=language,
        **extra,
    )


# --- moderation ----------------------------------------------------------------------------------


HARSH = "this wine is a scandal, worst purchase ever, avoid"


def review_write(
    text: str, *, member=None, language: str = "en", title: str = "", reference: str = "sku-1"
) -> Review:
    """A review saved as the reviews part does: moderated, then saved."""
    subject, _ = Subject.objects.get_or_create(reference=reference, defaults={"name": "Château Test"})
    review = Review(subject=subject, member=member or member_make(), rating=1, title=title, text=text)
    moderation_apply(obj=review, texts=[title, text], language=language)
    review.save()
    return review


# --- contributions -------------------------------------------------------------------------------


DAMAGE = {
    "code": "damage",
    "name": "Damage report",
    "event_type": "damage_report",
    "photos_required": 1,
    "reference_label": "Vehicle plate",
    "reference_required": True,
}


def photo(
    name: str = "car.png", *, size: tuple[int, int] = (200, 150), kind: str = "PNG"
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format=kind)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{kind.lower()}")


# --- auctions ------------------------------------------------------------------------------------


ADDRESSED = {
    "address_line1": ADDRESS["line1"],
    "postal_code": ADDRESS["postal_code"],
    "city": ADDRESS["city"],
    "country": ADDRESS["country"],
}


def bidder_make(external_id: str, points: int = 1000, **data):
    return member_make(external_id, points=points, **{"first_name": "Ada", **ADDRESSED, **data})


def auction_make(*, gift=None, starting=100, increment=10, opens_in=-1, closes_in=24, **data) -> Auction:
    """An auction of a rare bottle (out of the store, one in stock), open now by default."""
    now = timezone.now()
    gift = gift or gift_make(name="Pétrus 1990", points_price=5000, stock=1, is_active=False)
    return auction_save(
        data={
            "gift": gift,
            "title": "A rare bottle",
            "starting_points": starting,
            "min_increment": increment,
            "opens_at": now + timedelta(hours=opens_in),
            "closes_at": now + timedelta(hours=closes_in),
            **data,
        }
    )


# --- club services -------------------------------------------------------------------------------


def cellar_make() -> Space:
    return space_save(space=Space(slug="cellar", name="The Cellar Club", entry=Space.Entry.VIP))


def service_make(space=None, **data) -> ClubService:
    return ClubService.objects.create(space=space, name=data.pop("name", "Cellar valuation"), **data)


def vip_make(external_id: str, **data):
    member = member_make(external_id, login=True, first_name="Vera", **data)
    return vip_grant_set(member=member, granted=True)


# --- draws ---------------------------------------------------------------------------------------


def draw_make(*, eligibility: str = Draw.Eligibility.TICKETS_BOUGHT, opens_in: int = -1, **data) -> Draw:
    """A draw of the current schema whose entries opened `opens_in` days from now (a day ago),
    close 7 days later and is drawn an hour after; sold at 100 points a ticket unless said."""
    now = timezone.now()
    opens_at = now + timedelta(days=opens_in)
    defaults: dict = {
        "name": "Summer draw",
        "prize": "A weekend in Biarritz",
        "eligibility": eligibility,
        "opens_at": opens_at,
        "closes_at": opens_at + timedelta(days=7),
        "draw_at": opens_at + timedelta(days=7, hours=1),
    }
    if eligibility == Draw.Eligibility.TICKETS_BOUGHT:
        defaults["ticket_price"] = 100
    return draw_create(data={**defaults, **data})


def after_draw(draw: Draw):
    return draw.draw_at + timedelta(minutes=1)
