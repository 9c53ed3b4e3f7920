"""Members: creation and update (from the API, the backoffice, imports), consents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from loyalty.models import Consent, ConsentChange, Member, MemberAudit
from loyalty.selectors.programme import programme_settings
from loyalty.selectors.sales_reps import sales_rep_find
from loyalty.signals import MemberChange, changes_send, member_anonymising, members_changed

# Contact details of a member, as the API and the backoffice show and edit them.
MEMBER_CONTACT_FIELDS = (
    "first_name", "last_name", "company_name", "siret", "email", "phone", "address_line1",
    "address_line2", "postal_code", "city", "country", "language",
)  # fmt: skip
# What anonymising clears: the person's name, contact details and address (a reseller's company
# name and SIRET stay, as the company is no person). The login is unlinked and, unless it is a
# staff user's, closed and scrubbed.
MEMBER_PERSONAL_FIELDS = (
    "first_name", "last_name", "email", "phone", "address_line1", "address_line2", "postal_code",
    "city",
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
    *,
    external_id: str,
    data: dict[str, Any],
    consents: dict[str, bool] | None = None,
    source: str = "api",
    ip: str | None = None,
) -> tuple[Member, bool]:
    """Create the member with this external id, or update the fields given. Returns (member, created).
    Consents changed are recorded with `source` and the address `ip` they came from.
    An anonymised member's details and consents no longer change: a Conflict (`member_anonymised`)."""
    external_id, data = member_input_check(external_id=external_id, data=data)
    granted = data.get("is_vip")
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(external_id=external_id).first()
        created = member is None
        if member is not None and member.status == Member.Status.ANONYMISED:
            raise Conflict(
                "the member is anonymised: their details and consents can no longer be set",
                field="external_id",
                code="member_anonymised",
            )
        if member is None:
            member = Member(
                external_id=external_id,
                joined_at=timezone.now(),
                overdraft_limit=programme_settings().overdraft_limit,
            )
        member_fields_set(member=member, data=data)
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            # Created concurrently by another request with the same external id: update that one.
            if not created:
                raise
            return member_upsert(external_id=external_id, data=data, consents=consents, source=source, ip=ip)
        if granted is not None and granted != (member.vip_source == Member.VipSource.MANUAL):
            from billing.services.vip import vip_grant_set  # billing builds on loyalty: imported late

            member = vip_grant_set(member=member, granted=granted)
        changes_send(members_changed, [MemberChange(member_id=member.pk, created=created)])
        if consents:
            consent_set(member=member, consents=consents, source=source, ip=ip)
    return member, created


def member_put(*, external_id: str, data: dict[str, Any], reason: str) -> tuple[Member, bool]:
    """The API's write of a member (`PUT /members/{id}` and each item of `POST /members/batch`):
    `member_upsert` of `data`, whose `consents` are set too and whose `sales_rep` (a staff user's
    e-mail or username, None for none; `sales_rep_find`) is set with `member_sales_rep_set`, audited
    with `reason`. All or nothing. Returns (member, created)."""
    data = dict(data)
    consents = data.pop("consents", None)
    assign_rep, rep_name = "sales_rep" in data, data.pop("sales_rep", None)
    rep = sales_rep_find(name=rep_name) if rep_name is not None else None  # refused before any write
    with transaction.atomic():
        member, created = member_upsert(external_id=external_id, data=data, consents=consents, source="api")
        if assign_rep and member.sales_rep_id != (rep.pk if rep else None):
            member = member_sales_rep_set(member=member, by=None, sales_rep=rep, reason=reason)
    return member, created


def member_input_check(*, external_id: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The external id (stripped) and `data` (codes in their usual case) as `member_upsert` takes
    them, checked before any query; else InvalidInput naming each bad field. The imports check
    their rows with it too."""
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 64:
        raise InvalidInput({"external_id": ["is required, at most 64 characters"]})
    unknown = set(data) - set(MEMBER_FIELDS)
    if unknown:
        raise InvalidInput({field: ["is not a member field"] for field in sorted(unknown)})
    data = {**data, **member_codes_check(data=data)}
    # `is_vip` is the staff grant, one of VIP's sources (README.md, "VIP and billing"): applied by
    # `vip_grant_set` once the member is saved, never written as such.
    granted = data.get("is_vip")
    if granted is not None and not isinstance(granted, bool):
        raise InvalidInput({"is_vip": ["must be true or false"]})
    return external_id, data


def member_fields_set(*, member: Member, data: dict[str, Any]) -> None:
    """Set `data` (checked by `member_input_check`) on the unsaved member, None clearing a text, and
    validate the member as the model and its constraints will: InvalidInput per field."""
    for field, value in data.items():
        if field != "is_vip":
            setattr(member, field, value if value is not None else "")
    if member.kind == Member.Kind.RESELLER and not member.company_name:
        raise InvalidInput({"company_name": ["is required for a B2B reseller"]})
    # The fields set are checked (the others hold what was checked when they were set). The
    # model's CHECK constraints are the database's: the one `data` can break is checked just above
    # (the others hold the balance and VIP, never set here); Django's check of them costs a query
    # and a savepoint each, per member (most of an import's time).
    unset = [field.name for field in Member._meta.fields if field.name not in data]
    try:
        member.full_clean(exclude=unset, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise InvalidInput(error.message_dict) from None


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
    *,
    member: Member,
    consents: dict[str, bool],
    source: str,
    at: datetime | None = None,
    ip: str | None = None,
) -> None:
    """Record the member's consent per channel, with when, how and from which address it was given:
    the current one (`Consent`) and, for each change, a `ConsentChange` row."""
    valid = set(Consent.Channel.values)
    bad = [channel for channel in consents if channel not in valid]
    if bad:
        raise InvalidInput({"consents": [f"unknown channel '{bad[0]}' (use {', '.join(sorted(valid))})"]})
    at = at or timezone.now()
    with transaction.atomic():
        for channel, granted in consents.items():
            current = Consent.objects.filter(member=member, channel=channel).first()
            if current is None or current.granted != bool(granted):
                values = {"granted": bool(granted), "changed_at": at, "source": source, "ip_address": ip}
                Consent.objects.update_or_create(member=member, channel=channel, defaults=values)
                ConsentChange.objects.create(member=member, channel=channel, **values)


# --- standing: block, unblock, anonymise, sales rep (staff only, each with an audit row) ---------


def member_block(*, member: Member, by: Any, reason: str) -> Member:
    """Block an active member (they keep their points; what a blocked member may do is up to
    each feature). Returns the member as saved."""
    return _standing_set(
        member=member, by=by, reason=reason, action=MemberAudit.Action.BLOCK, status=Member.Status.BLOCKED
    )


def member_unblock(*, member: Member, by: Any, reason: str) -> Member:
    return _standing_set(
        member=member, by=by, reason=reason, action=MemberAudit.Action.UNBLOCK, status=Member.Status.ACTIVE
    )


def member_anonymise(*, member: Member, by: Any, reason: str) -> Member:
    """Clear the member's personal fields and unlink their login, for good. The ledger, the
    balance, events and consents stay (they hold no contact details), and so does the external id
    the brand's systems know the member by."""
    return _standing_set(
        member=member,
        by=by,
        reason=reason,
        action=MemberAudit.Action.ANONYMISE,
        status=Member.Status.ANONYMISED,
    )


def member_sales_rep_set(*, member: Member, by: Any, sales_rep: Any, reason: str = "") -> Member:
    """Give the member a sales rep (a staff user), or none."""
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        _refuse_anonymised(locked)
        before = {"sales_rep": locked.sales_rep_id}
        locked.sales_rep = sales_rep
        locked.save(update_fields=["sales_rep", "updated_at"])
        _audit(locked, MemberAudit.Action.SALES_REP, by, reason, before, {"sales_rep": locked.sales_rep_id})
    return locked


# The statuses each change starts from.
_STANDING_FROM = {
    MemberAudit.Action.BLOCK: (Member.Status.ACTIVE,),
    MemberAudit.Action.UNBLOCK: (Member.Status.BLOCKED,),
    MemberAudit.Action.ANONYMISE: (Member.Status.ACTIVE, Member.Status.BLOCKED),
}


def _standing_set(*, member: Member, by: Any, reason: str, action: MemberAudit.Action, status: str) -> Member:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is required", field="reason")
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        _refuse_anonymised(locked)
        if locked.status not in _STANDING_FROM[action]:
            raise Conflict(f"the member is {locked.get_status_display().lower()}", field="status")
        before = {"status": locked.status}
        after: dict[str, Any] = {"status": status}
        locked.status = status
        changed = ["status", "updated_at"]
        if action == MemberAudit.Action.ANONYMISE:
            after["cleared"] = [field for field in MEMBER_PERSONAL_FIELDS if getattr(locked, field)]
            for field in MEMBER_PERSONAL_FIELDS:
                setattr(locked, field, "")
            if locked.user_id is not None:
                after["login_unlinked"] = True
                _login_close(locked.user)
                locked.user = None
            changed += [*MEMBER_PERSONAL_FIELDS, "user"]
        locked.save(update_fields=changed)
        if action == MemberAudit.Action.ANONYMISE:
            member_anonymising.send(sender=Member, member_id=locked.pk)
        _audit(locked, action, by, reason, before, after)
    return locked


def _refuse_anonymised(member: Member) -> None:
    if member.status == Member.Status.ANONYMISED:
        raise Conflict("the member is anonymised: nothing of theirs changes any more", field="status")


def _login_close(user: Any) -> None:
    """A member's own login (not a staff user's, whose member account is their sales account):
    no password, no way in, no name or e-mail left."""
    if user.is_staff or user.is_superuser:
        return
    user.username = f"anonymised-{uuid.uuid4().hex}"
    user.email = user.first_name = user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()


def _audit(member: Member, action: str, by: Any, reason: str, before: dict, after: dict) -> None:
    """A staff change of the member, recorded and sent (`members_changed`) after commit."""
    MemberAudit.objects.create(
        member=member, action=action, by=by, reason=reason, before=before, after=after, at=timezone.now()
    )
    changes_send(members_changed, [MemberChange(member_id=member.pk, created=False)])
