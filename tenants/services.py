"""Writes on brands: creation by cloning the template schema, suspension, the template itself."""

from __future__ import annotations

import logging
import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from core.errors import InvalidInput

from .models import Brand, Domain
from .validation import domain_check, schema_name_for, slug_check

logger = logging.getLogger(__name__)


def template_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


def template_schema_is_current() -> bool:
    """True when the template schema exists and has every migration on disk applied."""
    name = template_schema_name()
    if not schema_exists(name):
        return False
    with schema_context(name):
        executor = MigrationExecutor(connection)
        return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def template_schema_sync(*, verbosity: int = 0) -> None:
    """Create the template schema if needed and apply pending migrations to it.

    Brands are cloned from it, so it must stay in step with the migrations: `migrate_all` calls
    this, and so does `brand_create` when it finds the template behind.
    """
    name = template_schema_name()
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
    call_command("migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=verbosity)
    # django-tenants' backend method: the stubs type `connection` as Django's own wrapper.
    connection.set_schema_to_public()  # type: ignore[attr-defined]


def public_brand_ensure(*, domain: str | None = None) -> Brand:
    """The public schema's own row, which routes the platform domain to the operator console."""
    domain = domain or settings.PLATFORM_DOMAIN
    brand, _ = Brand.objects.get_or_create(
        schema_name=get_public_schema_name(),
        defaults={"name": "Platform", "slug": "platform"},
    )
    Domain.objects.get_or_create(domain=domain, defaults={"tenant": brand, "is_primary": True})
    return brand


def brand_create(
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str | None = None,
    extra_domains: list[str] | tuple[str, ...] = (),
    timezone_name: str = "Europe/Paris",
    language: str = "en",
    currency: str = "EUR",
) -> tuple[Brand, str]:
    """Create a brand: its row, its domains, its schema (a clone of the template), its admin.

    Everything happens in one transaction (PostgreSQL DDL is transactional), so a failure leaves
    no half-made schema. Returns the brand and the admin's password (generated if not given).
    """
    slug = slug_check((slug or "").strip())
    name = (name or "").strip()
    if not name:
        raise InvalidInput("a brand needs a name", field="name")
    admin_email = (admin_email or "").strip().lower()
    if "@" not in admin_email or admin_email.startswith("@") or admin_email.endswith("@"):
        raise InvalidInput(f"'{admin_email}' is not an e-mail address", field="admin_email")
    _timezone_check(timezone_name)
    currency = (currency or "").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput(f"'{currency}' is not an ISO 4217 currency code", field="currency")

    primary = f"{slug}.{settings.PLATFORM_DOMAIN}"
    domains = [primary] + [domain_check(d) for d in extra_domains]
    if Brand.objects.filter(slug=slug).exists():
        raise InvalidInput(f"a brand with slug '{slug}' already exists", field="slug")
    schema_name = schema_name_for(slug)
    if Brand.objects.filter(schema_name=schema_name).exists() or schema_exists(schema_name):
        raise InvalidInput(f"schema '{schema_name}' is already taken", field="slug")
    taken = list(Domain.objects.filter(domain__in=domains).values_list("domain", flat=True))
    if taken:
        raise InvalidInput(f"'{taken[0]}' already serves another brand", field="domain")

    if not template_schema_is_current():
        template_schema_sync()

    password = admin_password or secrets.token_urlsafe(12)
    with transaction.atomic():
        brand = Brand.objects.create(
            schema_name=schema_name,
            name=name,
            slug=slug,
            timezone=timezone_name,
            language=language,
            currency=currency,
        )
        for index, domain in enumerate(domains):
            Domain.objects.create(domain=domain, tenant=brand, is_primary=index == 0)
        CloneSchema().clone_schema(template_schema_name(), schema_name, "DATA")
        with schema_context(schema_name):
            get_user_model().objects.create_superuser(
                username=admin_email, email=admin_email, password=password
            )
    logger.info("brand %s created on %s", slug, primary)
    return brand, password


def brand_suspend(*, brand: Brand) -> Brand:
    return _brand_status_set(brand=brand, status=Brand.Status.SUSPENDED)


def brand_reactivate(*, brand: Brand) -> Brand:
    return _brand_status_set(brand=brand, status=Brand.Status.ACTIVE)


def _brand_status_set(*, brand: Brand, status: str) -> Brand:
    if brand.schema_name == get_public_schema_name():
        raise InvalidInput("the platform itself cannot be suspended", field="brand")
    with transaction.atomic():
        locked = Brand.objects.select_for_update().get(pk=brand.pk)
        if locked.status != status:
            locked.status = status
            locked.status_changed_at = timezone.now()
            locked.save(update_fields=["status", "status_changed_at"])
    return locked


def brand_usage_refresh(*, brand: Brand) -> dict:
    """Count the brand's figures inside its own schema and store them on its public row."""
    with schema_context(brand.schema_name):
        user_model = get_user_model()
        usage = {
            "staff_users": user_model.objects.filter(is_staff=True).count(),
            "users": user_model.objects.count(),
        }
    Brand.objects.filter(pk=brand.pk).update(usage=usage, usage_refreshed_at=timezone.now())
    return usage


def _timezone_check(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"'{name}' is not a known time zone", field="timezone") from error
