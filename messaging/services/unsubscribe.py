"""The one-click unsubscribe link of every e-mail (README, "Messaging > E-mail"; RFC 8058).

A link is a signed token naming a member and a channel, signed with a salt of the brand's schema:
a token of one brand is refused on every other brand's host (member ids repeat across schemas).
It does not expire: an e-mail read a year later still unsubscribes. Opening the link (GET) only
shows the question; the POST (the page's button, or the mail client's one-click POST of
`List-Unsubscribe=One-Click`) turns the consent off, once: a second POST changes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.urls import reverse

from core.errors import NotFound
from loyalty.models import Consent, Member
from loyalty.services.ledger import member_lock
from loyalty.services.members import consent_set
from messaging.selectors.variables import site_url
from tenants.selectors import schema_current

UNSUBSCRIBE_SOURCE = "unsubscribe link"


def _salt() -> str:
    return f"messaging.unsubscribe:{schema_current()}"


def unsubscribe_token(*, member_id: int, channel: str) -> str:
    """The member's token for `channel`: signed, without a time in it, so every link and header of
    a message (built at different moments) carries the same one, and it never expires."""
    return signing.Signer(salt=_salt()).sign_object([member_id, channel])


def unsubscribe_url(*, member_id: int, channel: str) -> str:
    """The member's unsubscribe link for `channel` on the brand's host (empty outside a brand)."""
    base = site_url()
    if not base:
        return ""
    path = reverse(
        "messaging-unsubscribe", kwargs={"token": unsubscribe_token(member_id=member_id, channel=channel)}
    )
    return base.rstrip("/") + path


def unsubscribe_headers(*, member_id: int, channel: str) -> dict[str, str]:
    """The headers mail clients show an "Unsubscribe" button for, and POST to in one click."""
    url = unsubscribe_url(member_id=member_id, channel=channel)
    if not url:
        return {}
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


@dataclass(frozen=True)
class UnsubscribeTarget:
    member: Member
    channel: str
    # Whether the member has already said no on the channel.
    opted_out: bool


def unsubscribe_target(*, token: str) -> UnsubscribeTarget:
    """Who and which channel a token names, in the current brand. NotFound for a token that is not
    this brand's (another brand's, mistyped, forged) or whose member is gone."""
    try:
        member_id, channel = signing.Signer(salt=_salt()).unsign_object(token)
    except (signing.BadSignature, TypeError, ValueError):
        raise NotFound("unknown unsubscribe link", field="token") from None
    if not isinstance(member_id, int) or channel not in Consent.Channel.values:
        raise NotFound("unknown unsubscribe link", field="token")
    member = Member.objects.filter(pk=member_id).first()
    if member is None:
        raise NotFound("unknown unsubscribe link", field="token")
    granted = Consent.objects.filter(member=member, channel=channel).values_list("granted", flat=True).first()
    return UnsubscribeTarget(member=member, channel=channel, opted_out=granted is False)


def consent_withdraw(*, member_id: int, channel: str, source: str, ip: str | None = None) -> bool:
    """Turn the member's consent on `channel` off, recorded as a consent change with `source`;
    under the member's lock, so that requests at the same time record one change. Whether it
    changed (False: it was off already)."""
    with transaction.atomic():
        member = member_lock(member_id=member_id)
        if Consent.objects.filter(member=member, channel=channel, granted=False).exists():
            return False
        consent_set(member=member, consents={channel: False}, source=source, ip=ip)
    return True


def unsubscribe_apply(*, token: str, ip: str | None = None) -> UnsubscribeTarget:
    """The link's POST: the consent it names turned off (once). NotFound as `unsubscribe_target`."""
    target = unsubscribe_target(token=token)
    consent_withdraw(member_id=target.member.pk, channel=target.channel, source=UNSUBSCRIBE_SOURCE, ip=ip)
    return UnsubscribeTarget(member=target.member, channel=target.channel, opted_out=True)
