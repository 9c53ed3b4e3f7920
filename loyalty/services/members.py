"""Members: creation and update (from the API, the backoffice, imports), consents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import InvalidInput
from loyalty.models import Consent, Member
from loyalty.services.ledger import programme_settings

# Contact details of a member, as the API and the backoffice show and edit them.
MEMBER_CONTACT_FIELDS = (
    "first_name", "last_name", "company_name", "siret", "email", "phone", "address_line1",
    "address_line2", "postal_code", "city", "country", "language",
)  # fmt: skip
# What `member_upsert` accepts.
MEMBER_FIELDS = ("kind", *MEMBER_CONTACT_FIELDS, "tags", "is_vip")
# The ISO 3166-1 alpha-2 country codes and ISO 639-1 language codes (Debian's iso-codes 4.x).
COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
LANGUAGE_CODES = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da
    de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz
    ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln
    lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi
    pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti
    tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
    """.split()
)


def member_upsert(
    *, external_id: str, data: dict[str, Any], consents: dict[str, bool] | None = None, source: str = "api"
) -> tuple[Member, bool]:
    """Create the member with this external id, or update the fields given. Returns (member, created)."""
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 64:
        raise InvalidInput({"external_id": ["is required, at most 64 characters"]})
    unknown = set(data) - set(MEMBER_FIELDS)
    if unknown:
        raise InvalidInput({field: ["is not a member field"] for field in sorted(unknown)})
    data = {**data, **member_codes_check(data=data)}
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(external_id=external_id).first()
        created = member is None
        if created:
            member = Member(
                external_id=external_id,
                joined_at=timezone.now(),
                overdraft_limit=programme_settings().overdraft_limit,
            )
        for field, value in data.items():
            setattr(member, field, value if value is not None else "")
        if member.kind == Member.Kind.RESELLER and not member.company_name:
            raise InvalidInput({"company_name": ["is required for a B2B reseller"]})
        try:
            member.full_clean(exclude=["user", "sales_rep", "tier", "tier_floor"], validate_unique=False)
        except ValidationError as error:
            raise InvalidInput(error.message_dict) from None
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            # Created concurrently by another request with the same external id: update that one.
            if not created:
                raise
            return member_upsert(external_id=external_id, data=data, consents=consents, source=source)
        if consents:
            consent_set(member=member, consents=consents, source=source)
    return member, created


def member_codes_check(*, data: dict[str, Any]) -> dict[str, str]:
    """`language` and `country` of `data` (those given) in their usual case ("fr", "FR"), or a
    InvalidInput naming each unknown code. A language of the site (settings.LANGUAGES, such as
    "pt-br") is known too; a country may be left empty."""
    found, errors = {}, {}
    language = data.get("language")
    if isinstance(language, str):
        code = language.lower()
        if code in LANGUAGE_CODES or code in dict(settings.LANGUAGES):
            found["language"] = code
        else:
            errors["language"] = [f"'{language}' is not an ISO 639-1 language code, such as 'fr'"]
    country = data.get("country")
    if isinstance(country, str) and country:
        if country.upper() in COUNTRY_CODES:
            found["country"] = country.upper()
        else:
            errors["country"] = [f"'{country}' is not an ISO 3166-1 country code, such as 'FR'"]
    if errors:
        raise InvalidInput(errors)
    return found


def consent_set(
    *, member: Member, consents: dict[str, bool], source: str, at: datetime | None = None
) -> None:
    """Record the member's consent per channel, with when and how it was given."""
    valid = set(Consent.Channel.values)
    bad = [channel for channel in consents if channel not in valid]
    if bad:
        raise InvalidInput({"consents": [f"unknown channel '{bad[0]}' (use {', '.join(sorted(valid))})"]})
    at = at or timezone.now()
    for channel, granted in consents.items():
        current = Consent.objects.filter(member=member, channel=channel).first()
        if current is None or current.granted != bool(granted):
            Consent.objects.update_or_create(
                member=member,
                channel=channel,
                defaults={"granted": bool(granted), "changed_at": at, "source": source},
            )
