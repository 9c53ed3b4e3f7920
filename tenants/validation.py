"""Checks on brand slugs and domains, shared by the service, the command and the console form."""

from __future__ import annotations

import re

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


class BrandInputError(ValueError):
    """A bad value given for a brand; `field` names which one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def slug_check(slug: str) -> str:
    if not SLUG_PATTERN.match(slug or ""):
        raise BrandInputError(
            "slug",
            f"'{slug}' is not a valid slug: use 3 to 40 lowercase letters, digits and hyphens, "
            "starting with a letter",
        )
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        raise BrandInputError("slug", f"'{slug}' is reserved by the platform")
    if "--" in slug:
        raise BrandInputError("slug", f"'{slug}' has two hyphens in a row")
    return slug


def domain_check(domain: str) -> str:
    domain = (domain or "").strip().lower().rstrip(".")
    if not DOMAIN_PATTERN.match(domain):
        raise BrandInputError("domain", f"'{domain}' is not a valid host name")
    return domain


def schema_name_for(slug: str) -> str:
    """Slugs have no underscores, so this mapping never makes two slugs collide."""
    return "brand_" + slug.replace("-", "_")
