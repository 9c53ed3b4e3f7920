"""Deliveries go only to public addresses (README, "Messaging > Webhooks"): the URL's host is
resolved once (`socket.getaddrinfo`), every address it resolves to is checked, and the connection
is made to the checked address itself, with the host name in the `Host` header and in TLS (SNI and
the certificate's check): the name is never resolved again between the check and the connection,
so a DNS answer that changes in between (DNS rebinding) cannot lead it elsewhere.

Refused: loopback, private (RFC 1918, unique local IPv6), shared (100.64/10), link-local, multicast,
reserved and unspecified addresses, the IPv4-mapped IPv6 forms of those, and the cloud metadata
addresses. `settings.WEBHOOKS_DEVELOPMENT` (on in `make run`, off in production) allows http:// and
any address, so a receiver on the developer's machine works.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The instance metadata services of the clouds (AWS, GCP and Azure share the IPv4 one; AWS's IPv6;
# Alibaba's): refused by name, whatever the other checks say of them.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}


class AddressRefused(Exception):
    """The URL may not be delivered to; the message says why (for the brand's staff)."""


def webhooks_development() -> bool:
    return bool(settings.WEBHOOKS_DEVELOPMENT)


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public one, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_refusal(address.ipv4_mapped)
    if address in METADATA_ADDRESSES:
        return _("a cloud metadata address")
    kinds = [
        (address.is_unspecified, _("unspecified")),
        (address.is_loopback, _("loopback")),
        (address.is_link_local, _("link-local")),
        (address.is_multicast, _("multicast")),
        (address.is_reserved, _("reserved")),
        (address.is_private, _("private")),
        (not address.is_global, _("not public")),
    ]
    return next((str(kind) for refused, kind in kinds if refused), None)


@dataclass(frozen=True)
class Target:
    """Where one POST goes: the URL's parts, and the checked address it connects to."""

    scheme: str
    host: str
    port: int
    path: str  # with its query
    address: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{address}:{self.port}{self.path}"


def url_refusal(url: str) -> str | None:
    """What is wrong with `url` before any lookup (the scheme, a host, no credentials in it)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number or out of range)
    except ValueError:
        return _("not a valid URL")
    if parts.scheme != "https" and not (parts.scheme == "http" and webhooks_development()):
        return _("must start with https://")
    if not parts.hostname:
        return _("has no host name")
    if parts.username is not None or parts.password is not None:
        return _("must not hold a user name or password")
    if parts.fragment:
        return _("must not have a #fragment")
    return None


def target_resolve(url: str) -> Target:
    """Where a POST to `url` connects: the host's addresses, resolved now and checked (all of them:
    a name with one private address among public ones is refused). AddressRefused says why not."""
    refusal = url_refusal(url)
    if refusal:
        raise AddressRefused(refusal)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        host = host.encode("idna").decode("ascii")  # as the DNS, the Host header and TLS name it
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise AddressRefused(
            _("%(host)s cannot be resolved (%(error)s)") % {"host": host, "error": error}
        ) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not addresses:
        raise AddressRefused(_("%(host)s has no address") % {"host": host})
    if not webhooks_development():
        for address in addresses:
            refusal = address_refusal(address)
            if refusal:
                message = _("%(host)s resolves to %(address)s (%(kind)s): only public addresses are allowed")
                raise AddressRefused(message % {"host": host, "address": address, "kind": refusal})
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=str(addresses[0]))
