"""Brands' own domains: how a host name a brand types is checked, and the two proofs that it is
theirs, each behind a small class whose one method touches the outside world.

- DNS: a TXT record `_loyalty-verify.<domain>` holding `loyalty-verify=<token>` (`TxtResolver`).
- HTTP: `http://<domain>/.well-known/loyalty-verify/<token>` answering the token (`TokenFetcher`).
  The platform answers that path itself for a brand's unverified domains (`tenants.middleware`), so
  once the domain's DNS points at the platform the check passes.

The resolver asks the system's name servers, or `settings.DOMAIN_VERIFY_NAMESERVERS` ("host:port");
the fetcher resolves the domain with it and connects only to a public address
(`DOMAIN_VERIFY_PRIVATE_ADDRESSES` lets a test reach its loopback server) on port 80
(`DOMAIN_VERIFY_HTTP_PORT`), follows no redirect, reads `HTTP_MAX_BYTES` at most, within
`TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import http.client
import ipaddress
import secrets
from dataclasses import dataclass

import dns.exception
import dns.resolver
from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import InvalidInput
from tenants.validation import DOMAIN_PATTERN

TXT_PREFIX = "_loyalty-verify"
TXT_VALUE_PREFIX = "loyalty-verify="
HTTP_PATH_PREFIX = "/.well-known/loyalty-verify/"
TIMEOUT_SECONDS = 3.0
HTTP_MAX_BYTES = 1024


def domain_normalise(value: str, *, field: str = "domain") -> str:
    """A host name as routing reads it, or InvalidInput naming `field`: stripped, lower case, no
    trailing dot, IDNA-encoded (`bücher.example` is `xn--bcher-kva.example`); never an IP address,
    `localhost`, nor the platform domain or one of its subdomains (those are the platform's)."""
    text = (value or "").strip().rstrip(".")
    if not text:
        raise InvalidInput(_("a host name is required, such as club.example.com"), field=field)
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    else:
        raise InvalidInput(_("'%(name)s' is an IP address: give a host name") % {"name": text}, field=field)
    try:
        name = text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidInput(_("'%(name)s' is not a valid host name") % {"name": text}, field=field) from None
    if not DOMAIN_PATTERN.match(name):
        raise InvalidInput(_("'%(name)s' is not a valid host name") % {"name": text}, field=field)
    if name == "localhost" or name.endswith(".localhost"):
        raise InvalidInput(
            _("'%(name)s' is a local name, not a domain of yours") % {"name": text}, field=field
        )
    platform = settings.PLATFORM_DOMAIN.lower()
    if name == platform or name.endswith("." + platform):
        raise InvalidInput(_("'%(name)s' is the platform's own domain") % {"name": text}, field=field)
    return name


def domain_token_new() -> str:
    return secrets.token_urlsafe(24)


def txt_record_name(domain: str) -> str:
    return f"{TXT_PREFIX}.{domain}"


def txt_record_value(token: str) -> str:
    return f"{TXT_VALUE_PREFIX}{token}"


def http_token_url(domain: str, token: str) -> str:
    return f"http://{domain}{HTTP_PATH_PREFIX}{token}"


def _lookup_failed(name: str, error: Exception) -> str:
    return _("DNS lookup of %(name)s failed (%(error)s)") % {"name": name, "error": error.__class__.__name__}


class CheckFailed(Exception):
    """The outside world did not answer what a check needs; the message says what it found."""


def _nameservers() -> list[tuple[str, int]]:
    servers = []
    for entry in settings.DOMAIN_VERIFY_NAMESERVERS:
        host, _, port = entry.rpartition(":")
        servers.append((host, int(port)))
    return servers


def _resolver() -> dns.resolver.Resolver:
    servers = _nameservers()
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [host for host, _ in servers]
        resolver.port = servers[0][1]
    resolver.lifetime = TIMEOUT_SECONDS
    resolver.timeout = TIMEOUT_SECONDS
    return resolver


class TxtResolver:
    """DNS TXT lookups."""

    def txt_records(self, name: str) -> list[str]:
        """The TXT strings at `name` (each record's strings joined); [] when there is none."""
        try:
            answer = _resolver().resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as error:
            raise CheckFailed(_lookup_failed(name, error)) from None
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]

    def addresses(self, name: str) -> list[str]:
        """The IPv4 and IPv6 addresses of `name`."""
        found = []
        for kind in ("A", "AAAA"):
            try:
                found += [record.address for record in _resolver().resolve(name, kind)]
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as error:
                raise CheckFailed(_lookup_failed(name, error)) from None
        return found


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes


class TokenFetcher:
    """HTTP GETs of a verification path, on the domain's own public address."""

    def __init__(self, resolver: TxtResolver | None = None) -> None:
        self.resolver = resolver or TxtResolver()

    def fetch(self, domain: str, path: str) -> Fetched:
        addresses = self.resolver.addresses(domain)
        if not addresses:
            raise CheckFailed(_("%(domain)s has no address in the DNS") % {"domain": domain})
        address = addresses[0]
        if not ipaddress.ip_address(address).is_global and not settings.DOMAIN_VERIFY_PRIVATE_ADDRESSES:
            raise CheckFailed(
                _("%(domain)s points at %(address)s, which is not a public address")
                % {"domain": domain, "address": address}
            )
        port = settings.DOMAIN_VERIFY_HTTP_PORT
        connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT_SECONDS)
        try:
            connection.request("GET", path, headers={"Host": domain, "User-Agent": "loyalty-verify"})
            response = connection.getresponse()
            return Fetched(status=response.status, body=response.read(HTTP_MAX_BYTES + 1))
        except (OSError, http.client.HTTPException) as error:
            raise CheckFailed(
                _("%(url)s did not answer (%(error)s)")
                % {"url": f"http://{domain}{path}", "error": error.__class__.__name__}
            ) from None
        finally:
            connection.close()


def dns_proof(*, domain: str, token: str, resolver: TxtResolver) -> str | None:
    """None when the TXT record holds the token, else what was found."""
    name = txt_record_name(domain)
    records = resolver.txt_records(name)
    if txt_record_value(token) in (record.strip() for record in records):
        return None
    return _("no TXT record %(name)s with %(value)s (%(count)d other TXT records found)") % {
        "name": name,
        "value": txt_record_value(token),
        "count": len(records),
    }


def http_proof(*, domain: str, token: str, fetcher: TokenFetcher) -> str | None:
    """None when the token's URL answers 200 with the token, else what was found."""
    fetched = fetcher.fetch(domain, f"{HTTP_PATH_PREFIX}{token}")
    if fetched.status != 200:
        return _("%(url)s answered %(status)d") % {
            "url": http_token_url(domain, token),
            "status": fetched.status,
        }
    if len(fetched.body) > HTTP_MAX_BYTES or fetched.body.strip() != token.encode():
        return _("%(url)s did not answer the token") % {"url": http_token_url(domain, token)}
    return None
