"""What every provider is: one method, `send`, that hands one rendered message to the outside world.

The sending service (`messaging.services.sending`) gives a provider plain data (`Outgoing`), never a
model object, and reads its answer (`Sent`) or its error (`ProviderError`, saying whether the
provider may have taken the message: then it is never sent again, but marked `unknown`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from messaging.models import ChannelSettings


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    schema_name: str
    channel: str
    purpose: str
    language: str
    recipient: str
    subject: str
    body: str
    html: str
    # The brand's site (https://host/), where the provider's callbacks arrive.
    site_url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    provider: str
    provider_id: str
    # "sent", or "delivered" when the provider is the end of the road (the development outbox).
    state: str = "sent"


class ProviderError(Exception):
    """A send that did not go through. `maybe_sent`: the provider may have taken it (a timeout after
    the request left), so it is not sent again. `retry`: nothing left, a later try may succeed.
    `opted_out`: the provider refuses the recipient on this channel because they opted out with it
    (Twilio's 21610: a STOP sent to one of the brand's numbers), which then withdraws the consent."""

    def __init__(
        self, message: str, *, maybe_sent: bool = False, retry: bool = False, opted_out: bool = False
    ) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent
        self.retry = retry and not maybe_sent
        self.opted_out = opted_out


class Provider(ABC):
    name: str

    @abstractmethod
    def send(self, outgoing: Outgoing) -> Sent:
        """Hand the message to the outside world: the only method that does."""


class DevelopmentOutbox(Provider):
    """Where messages go without provider credentials: nowhere. The message row is the outbox that
    staff read in the backoffice (Messaging > Development outbox)."""

    name = "outbox"

    def send(self, outgoing: Outgoing) -> Sent:
        return Sent(provider=self.name, provider_id=f"outbox-{outgoing.message_id}", state="delivered")


# channel -> a factory that gives the brand's provider for it, or None when its credentials are
# missing (then the development outbox). Each channel's module registers its own.
ProviderFactory = Callable[[ChannelSettings], Provider | None]
_FACTORIES: dict[str, ProviderFactory] = {}


def provider_register(*, channel: str, factory: ProviderFactory) -> None:
    _FACTORIES[channel] = factory


def provider_for(*, channel: str, channel_settings: ChannelSettings) -> Provider:
    factory = _FACTORIES.get(channel)
    provider = factory(channel_settings) if factory else None
    return provider or DevelopmentOutbox()
