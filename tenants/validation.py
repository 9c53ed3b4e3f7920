"""Checks on brand slugs and domains, shared by the service, the command and the console form."""

from __future__ import annotations

import re

from core.errors import InvalidInput

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
# Names that are hosts of the platform itself or schemas of PostgreSQL and of the platform.
RESERVED_SLUGS = frozenset(
    {
        "public",
        "www",
        "api",
        "admin",
        "app",
        "static",
        "media",
        "mail",
        "smtp",
        "ftp",
        "platform",
        "operator",
        "console",
        "health",
        "status",
        "help",
        "support",
        "docs",
        "blog",
        "template",
        "brand-template",
        "information-schema",
        "test",
        "localhost",
    }
)


def slug_check(slug: str) -> str:
    if not SLUG_PATTERN.match(slug or ""):
        raise InvalidInput(
            f"'{slug}' is not a valid slug: use 3 to 40 lowercase letters, digits and hyphens, "
            "starting with a letter",
            field="slug",
        )
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        raise InvalidInput(f"'{slug}' is reserved by the platform", field="slug")
    if "--" in slug:
        raise InvalidInput(f"'{slug}' has two hyphens in a row", field="slug")
    return slug


def domain_check(domain: str) -> str:
    domain = (domain or "").strip().lower().rstrip(".")
    if not DOMAIN_PATTERN.match(domain):
        raise InvalidInput(f"'{domain}' is not a valid host name", field="domain")
    return domain


def schema_name_for(slug: str) -> str:
    """Slugs have no underscores, so this mapping never makes two slugs collide."""
    return "brand_" + slug.replace("-", "_")
