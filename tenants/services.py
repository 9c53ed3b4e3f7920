"""Writes on brands: creation by cloning the template schema, suspension, the template itself, the
brands' own domains and their verification."""

from __future__ import annotations

import logging
import secrets
import zoneinfo
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from core.db import connection_renew
from core.errors import Conflict, InvalidInput, Refused
from core.models import StaffProfile
from core.outbox import enqueue_on_commit

from .clone import schema_copy, schema_version
from .domains import (
    CheckFailed,
    TokenFetcher,
    TxtResolver,
    dns_proof,
    domain_normalise,
    domain_token_new,
    http_proof,
)
from .models import Brand, Domain
from .validation import domain_check, schema_name_for, slug_check

logger = logging.getLogger(__name__)

# The admin's password is hashed (PBKDF2, about 0.3 s of a core) in this thread while PostgreSQL
# makes the brand's schema (about 0.4 s, waited for with the interpreter's lock released).
_password_hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brand-password")


def template_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


# The template's version (tenants.clone.schema_version) last found current by this process: the
# migrations on disk do not change under a running process, so the same version is current still.
# Reading the migrations from disk cost a process's first brand creation 0.27 s.
_template_current_at: dict[str, tuple] = {}


def template_schema_is_current() -> bool:
    """True when the template schema exists and has every migration on disk applied."""
    name = template_schema_name()
    version = schema_version(schema=name)
    if version is None:
        return False
    if _template_current_at.get(name) == version:
        return True
    with schema_context(name):
        executor = MigrationExecutor(connection)
        current = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    if current:
        _template_current_at[name] = version
    return current


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
    brand, _created = Brand.objects.get_or_create(
        schema_name=get_public_schema_name(),
        defaults={"name": "Platform", "slug": "platform"},
    )
    Domain.objects.get_or_create(
        domain=domain,
        defaults={"tenant": brand, "is_primary": True, "verified_at": timezone.now(), "method": "platform"},
    )
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
    """Create a brand: its row, its domains, its schema (a clone of the template), its admin (a
    superuser with the owner's role, `core.roles`).

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
    if language not in dict(settings.LANGUAGES):
        offered = ", ".join(code for code, _name in settings.LANGUAGES)
        raise InvalidInput(f"'{language}' is not a language of the platform ({offered})", field="language")
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
    # On a fresh backend too: one that served many schemas (a migrate_all, a long console session)
    # copies more slowly, its catalog caches full of them (core.db).
    connection_renew()
    hashed = _password_hasher.submit(make_password, password)
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
            Domain.objects.create(
                domain=domain,
                tenant=brand,
                is_primary=index == 0,
                verified_at=timezone.now(),
                method=Domain.Method.PLATFORM,
            )
        schema_copy(template=template_schema_name(), target=schema_name)
        with schema_context(schema_name):
            admin = get_user_model().objects.create(
                username=admin_email,
                email=admin_email,
                password=hashed.result(),
                is_staff=True,
                is_superuser=True,
            )
            StaffProfile.objects.create(user=admin, role=StaffProfile.Role.OWNER)
            # Imported here: the programme's settings row is the loyalty app's (cloned with the
            # template); the brand's language is its member site's default.
            from loyalty.models import ProgrammeSettings

            ProgrammeSettings.objects.filter(pk=1).update(default_language=language)
    logger.info("brand %s created on %s", slug, primary)
    # Each creation on a fresh backend: one that cloned schemas before is slower at each (core.db).
    connection_renew()
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
    """Count the brand's figures inside its own schema (`tenants.plans.brand_usage_count`), store
    them on its public row and record any limit of its plan they are over."""
    from .plans import brand_usage_count, plan_overages_record

    usage = brand_usage_count(brand=brand)
    with transaction.atomic():
        Brand.objects.filter(pk=brand.pk).update(usage=usage, usage_refreshed_at=timezone.now())
        plan_overages_record(brand=brand, usage=usage)
    return usage


# --- the brands' own domains ----------------------------------------------------------------------
# A brand adds a few domains (its site, a country's), not a zone: more is a mistake or an abuse.
DOMAINS_PER_BRAND_MAX = 20


def domain_add(*, brand: Brand, domain: str) -> Domain:
    """Add a domain of the brand's own, unverified (it serves nothing until `domain_verify` finds
    its token); its verification is queued after the commit. A host name already known, to this
    brand or another, verified or not, is refused."""
    from .tasks import domain_verify_task

    name = domain_normalise(domain)
    if brand.schema_name == get_public_schema_name():
        raise InvalidInput(_("the platform has no domains of its own to add"), field="brand")
    with transaction.atomic():
        Brand.objects.select_for_update().get(pk=brand.pk)  # one add at a time per brand: the cap holds
        if Domain.objects.filter(domain=name).exists():
            raise _domain_taken(name)
        if Domain.objects.filter(tenant=brand).count() >= DOMAINS_PER_BRAND_MAX:
            raise Refused(
                _("a brand has at most %(count)d domains: remove one first")
                % {"count": DOMAINS_PER_BRAND_MAX},
                field="domain",
                code="too_many_domains",
            )
        try:
            with transaction.atomic():
                added = Domain.objects.create(
                    domain=name, tenant=brand, is_primary=False, token=domain_token_new()
                )
        except IntegrityError:  # the same name added meanwhile by another brand
            raise _domain_taken(name) from None
        enqueue_on_commit(domain_verify_task, added.pk)
    logger.info("brand %s added domain %s", brand.slug, name)
    return added


def _domain_taken(name: str) -> Conflict:
    return Conflict(
        _("'%(domain)s' is already in use") % {"domain": name}, field="domain", code="domain_taken"
    )


def domain_verify(
    *,
    domain: Domain,
    resolver: TxtResolver | None = None,
    fetcher: TokenFetcher | None = None,
) -> Domain:
    """Look for the domain's token, in DNS first, then over HTTP; verified at the first proof found,
    else the domain keeps waiting with what the checks found in `check_result`. The lookups happen
    outside any transaction; the row is then written only if it still holds the token checked.
    Verifying an already verified domain changes nothing."""
    if domain.is_verified:
        return domain
    resolver = resolver or TxtResolver()
    fetcher = fetcher or TokenFetcher(resolver)
    found: list[str] = []
    method = ""
    checks = (
        (Domain.Method.DNS, lambda: dns_proof(domain=domain.domain, token=domain.token, resolver=resolver)),
        (Domain.Method.HTTP, lambda: http_proof(domain=domain.domain, token=domain.token, fetcher=fetcher)),
    )
    for kind, check in checks:
        try:
            failure = check()
        except CheckFailed as error:
            failure = str(error)
        if failure is None:
            method = kind
            break
        found.append(failure)
    with transaction.atomic():
        current = Domain.objects.select_for_update().filter(pk=domain.pk, token=domain.token).first()
        if current is None or current.is_verified:
            return current or domain
        current.checked_at = timezone.now()
        if method:
            current.verified_at, current.method, current.check_result = current.checked_at, method, ""
        else:
            current.check_result = "; ".join(found)[:300]
        # save(): its signal sets a new routing token (`tenants.routing`), so a verified domain
        # routes at once in every process.
        current.save(update_fields=["checked_at", "verified_at", "method", "check_result"])
    if method:
        logger.info("domain %s verified by %s", current.domain, method)
    return current


def domain_remove(*, domain: Domain) -> None:
    """Remove a domain of the brand's: it stops routing at once. The brand's address on the
    platform stays, and so does its primary domain (make another one primary first)."""
    if domain.method == Domain.Method.PLATFORM:
        raise Refused(
            _("'%(domain)s' is the brand's own address on the platform: it cannot be removed")
            % {"domain": domain.domain},
            field="domain",
            code="primary_domain",
        )
    if domain.is_primary:
        raise Refused(
            _("'%(domain)s' is the brand's primary domain: make another domain primary first")
            % {"domain": domain.domain},
            field="domain",
            code="primary_domain",
        )
    domain.delete()  # its signal sets a new routing token


def domain_make_primary(*, domain: Domain) -> Domain:
    """Make a verified domain the brand's primary one: the address its links, e-mails, letters and
    QR codes use. The brand's other domains keep serving it."""
    if not domain.is_verified:
        raise Refused(
            _("'%(domain)s' is not verified yet: it cannot be the primary domain")
            % {"domain": domain.domain},
            field="domain",
            code="domain_unverified",
        )
    with transaction.atomic():
        Brand.objects.select_for_update().get(pk=domain.tenant_id)  # one switch at a time per brand
        for other in Domain.objects.filter(tenant_id=domain.tenant_id, is_primary=True).exclude(pk=domain.pk):
            other.is_primary = False
            other.save(update_fields=["is_primary"])  # save(): the routing token changes
        current = Domain.objects.select_for_update().get(pk=domain.pk)
        if not current.is_primary:
            current.is_primary = True
            current.save(update_fields=["is_primary"])
    logger.info("brand %s: %s is the primary domain", domain.tenant_id, current.domain)
    return current


def _timezone_check(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"'{name}' is not a known time zone", field="timezone") from error
