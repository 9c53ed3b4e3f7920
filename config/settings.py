"""The one settings module: every value that differs between machines comes from the environment.

Defaults suit a developer's machine running `make run` (embedded PostgreSQL and Redis on fixed
local ports). Production sets DJANGO_ENV=production, which requires SECRET_KEY and turns DEBUG off.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django
import unfold
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LOYALTY_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DJANGO_ENV = os.environ.get("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: production (DJANGO_ENV=production) refuses to start without it. "
            "Set SECRET_KEY to a long random string."
        )
    SECRET_KEY = "dev-insecure-key-do-not-use-in-production"

# The platform's own domain: the operator console lives on it, brands on <slug>.<PLATFORM_DOMAIN>.
PLATFORM_DOMAIN = os.environ.get("PLATFORM_DOMAIN", "localhost")
# Brands' own domains (tenants.domains): the name servers asked for their TXT records ("host:port";
# none: the system's), and where their HTTP token is fetched (port 80 of a public address only).
DOMAIN_VERIFY_NAMESERVERS = env_list("DOMAIN_VERIFY_NAMESERVERS", "")
DOMAIN_VERIFY_HTTP_PORT = 80
DOMAIN_VERIFY_PRIVATE_ADDRESSES = False
# Unknown hosts are answered by the tenant middleware with a 404 page, so any host may reach it.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "*")
WEB_PORT = int(os.environ.get("PORT", "8000"))

# --- apps: django-tenants splits them between the public schema and each brand's schema -------
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    # The backoffice's look (README "Backoffice"): its templates before the admin's.
    "unfold",
    # Unfold's list filters with fields (the audit trail's date range, core.admin_audit).
    "unfold.contrib.filters",
    # Public too: deleting an operator's user cascades to the admin log, which must exist there.
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files, served from our static files (no CDN: the CSP allows 'self' only).
    "drf_spectacular_sidecar",
    "csp",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "django.contrib.messages",
    # What every app shares (outbox, lockouts, the API base); its models (API keys) are a brand's.
    "core",
    "loyalty",
    "catalog",
    "messaging",
    "billing",
    # Club spaces (restricted parts of a brand's site) and events with limited seats.
    "clubs",
    "gatherings",
    # Reviews, contributions, Q&A and live help, discussions, challenges, draws, club services and
    # points auctions (README "Community").
    "community",
    # A brand's theme is a row of its schema; its templates and static files serve every host.
    "themes",
    # The backoffice's pages across apps: navigation, search, the dashboard (README "Backoffice").
    "backoffice",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Brand"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New brands are copies of this schema instead of replaying every migration (tenants/clone.py).
TENANT_BASE_SCHEMA = "brand_template"
# `migrate_all` migrates the brand schemas behind the template this many at a time, each process
# one schema (tenants/migrating.py; default: one per core), handing out this many schemas at once.
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(os.environ.get("MIGRATE_PROCESSES") or os.cpu_count() or 1)
TENANT_MULTIPROCESSING_CHUNKS = 8
TENANT_CREATION_FAKES_MIGRATIONS = True
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# `SET search_path` once per connection and schema instead of before every query. Safe with this
# django-tenants: set_tenant/set_schema (requests, schema_context, tenant-schemas-celery's task
# switch, the test fixtures), close(), rollback() and savepoint_rollback() all forget the path
# sent, so the next cursor sends it again; nothing here issues its own SET search_path.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "tenants.middleware.HealthCheckMiddleware",
    # Before the routing, so its own pages (unknown host, suspended brand) carry the policy too.
    "core.middleware_security.PagePolicyMiddleware",
    "tenants.middleware.BrandMiddleware",
    # Errors of the brand API not written by its handler (a 500, the docs' 405) answered as JSON.
    "core.api.middleware.ApiErrorsAsJsonMiddleware",
    "core.middleware_security.HstsScopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts and from where, for the audit trail (core.audit): after the authentication.
    "core.audit.AuditContextMiddleware",
    # Django's LocaleMiddleware, with the brand's languages and the member's own (loyalty.languages).
    "loyalty.languages.SiteLanguageMiddleware",
    # A login refused by a lockout (core.lockout) answers 429.
    "core.lockout.LoginLockoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff sessions (core.staff_sessions): ended when idle, the second factor before anything else.
    "core.staff_sessions.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.BrandTimezoneMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The backoffice's look is django-unfold's templates, before Django's own admin templates and
        # before django-tenants' replacements of admin/index.html and admin/app_list.html (theirs
        # colour apps by schema with inline styles, which the CSP refuses). config/templates, first,
        # holds our overrides of unfold's (an inline style replaced, the header's search box).
        "DIRS": [
            BASE_DIR / "config" / "templates",
            Path(unfold.__file__).resolve().parent / "templates",
            Path(django.__file__).resolve().parent / "contrib" / "admin" / "templates",
            Path(django.__file__).resolve().parent / "forms" / "templates",
        ],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "themes.context_processors.brand",
                "billing.context_processors.vip",
            ],
        },
    },
]
# Widgets render with the templates above, so config/templates overrides a widget's too.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- database: PostgreSQL only (schemas) --------------------------------------------------------
# Without DATABASE_URL / REDIS_URL: the embedded servers of platform/embedded.py, on their ports.
EMBEDDED_PG_PORT = os.environ.get("EMBEDDED_PG_PORT", "54329")
EMBEDDED_REDIS_PORT = os.environ.get("EMBEDDED_REDIS_PORT", "63799")
DATABASE_URL = os.environ.get("DATABASE_URL") or f"postgres://postgres@127.0.0.1:{EMBEDDED_PG_PORT}/loyalty"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
DATABASES["default"]["ENGINE"] = "tenants.postgresql_backend"  # django-tenants', see there
# Parameters bound by the server, and statements run often prepared (after 5 runs on a connection;
# DATABASE_PREPARE_THRESHOLD=0 turns it off): an event's queries are then neither quoted in Python
# nor planned again. PostgreSQL parses a prepared statement again whenever the search_path changed,
# so one prepared in a brand's schema never reads another's (tests/isolation/test_foundation.py).
# The search_path is session state kept across requests (tenants/postgresql_backend): a pooler in
# front of PostgreSQL must pool sessions, never transactions.
# Options given in DATABASE_URL (`?sslmode=require`...) are kept.
_database_options = DATABASES["default"].setdefault("OPTIONS", {})
_database_options.update(
    {
        "server_side_binding": env_bool("DATABASE_SERVER_SIDE_BINDING", True),
        "prepare_threshold": int(os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")) or None,
        # Every process: a new connection to a server that does not answer gives up after this long
        # (seconds; psycopg waits 2 at least) instead of holding its thread as long as the server hangs.
        "connect_timeout": int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")),
    }
)
# The web processes only (config/wsgi.py and config/asgi.py say LOYALTY_PROCESS=web before these
# settings load): PostgreSQL cancels a statement of a request after this long (seconds, 0: never),
# so a stuck database cannot hold every thread. Migrations, migrate_all, the nightly jobs, Celery
# tasks (bounded by CELERY_TASK_TIME_LIMIT) and the benches' seeding may run long statements.
# Set on each new connection by a SET (tenants/postgresql_backend), not a startup option: PgBouncer
# refuses the `options` startup parameter, or drops it silently when told to ignore it.
DATABASE_STATEMENT_TIMEOUT = float(os.environ.get("DATABASE_STATEMENT_TIMEOUT", "30"))
DATABASE_STATEMENT_TIMEOUT_MS = (
    int(DATABASE_STATEMENT_TIMEOUT * 1000) if os.environ.get("LOYALTY_PROCESS") == "web" else 0
)
# A connection is ended once it has served this many brand schemas (0: never), at the end of the
# request or task that passed the bound: its PostgreSQL backend's caches grow with every schema it
# touches (tenants/postgresql_backend, README "A thousand brands").
DATABASE_SCHEMAS_PER_CONNECTION = int(os.environ.get("DATABASE_SCHEMAS_PER_CONNECTION", "100"))
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_loyalty")}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# A streaming replica of the primary (docs/production.md, "Streaming replica"); empty: none, every
# read on the primary. The read-only pages (the dashboard, exports) read from it inside
# core.replica.replica_reads(); writes and everything else stay on the primary. Same backend and
# options as the primary's (options in its URL win); never migrated (it replays the primary's WAL)
# nor created by the tests, which point it at their own database (MIRROR).
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "").strip()
if DATABASE_REPLICA_URL:
    _replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60, conn_health_checks=True)
    _replica["ENGINE"] = DATABASES["default"]["ENGINE"]
    _replica["OPTIONS"] = {**_database_options, **_replica.get("OPTIONS", {})}
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["core.replica.ReplicaRouter", *DATABASE_ROUTERS]
# Seconds a process reads the primary after the replica could not be reached (core.replica).
REPLICA_RETRY_AFTER = int(os.environ.get("REPLICA_RETRY_AFTER", "30"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery results; the Celery broker: Redis or RabbitMQ -----------------------
REDIS_URL = os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Every key carries the schema of the brand it was written under.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "loyalty"),
    }
}

# The broker: Redis by default, or RabbitMQ (amqp://user:password@host:5672//; a local node:
# platform/rabbitmq.py), with the same settings below; Redis stays the cache and the result backend.
# On RabbitMQ a task waiting for its countdown stays unacknowledged in a worker, and past the node's
# consumer_timeout (30 min by default) the node closes the channel and the worker exits: countdowns
# are capped at OUTBOX_REQUEUE_AFTER (core.outbox.task_send_at, longer waits left to the sweeper) and
# tasks end within CELERY_TASK_TIME_LIMIT, so the default suffices.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# The outbox (core.outbox): a send after commit is one attempt of at most this many seconds;
# a row still waiting OUTBOX_REQUEUE_AFTER s after its send was queued is queued again by the
# sweeper, which beat runs every OUTBOX_SWEEP_INTERVAL s.
OUTBOX_PUBLISH_TIMEOUT = float(os.environ.get("OUTBOX_PUBLISH_TIMEOUT", "0.25"))
OUTBOX_REQUEUE_AFTER = float(os.environ.get("OUTBOX_REQUEUE_AFTER", "60"))
OUTBOX_SWEEP_INTERVAL = float(os.environ.get("OUTBOX_SWEEP_INTERVAL", "30"))
# Twilio (messaging/providers/twilio.py): the REST API's base (tests and benches point it at a local
# fake), its connect and read timeouts (seconds: a read timeout may leave a message sent, so it ends
# "unknown", never sent again), and the voice calls unanswered or busy: retried this many times, this
# many hours apart (each retry a message of its own, held through the outbox).
TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
TWILIO_CONNECT_TIMEOUT = float(os.environ.get("TWILIO_CONNECT_TIMEOUT", "5"))
TWILIO_READ_TIMEOUT = float(os.environ.get("TWILIO_READ_TIMEOUT", "20"))
VOICE_RETRIES = int(os.environ.get("VOICE_RETRIES", "2"))
VOICE_RETRY_DELAY_HOURS = float(os.environ.get("VOICE_RETRY_DELAY_HOURS", "3"))
# Stripe (billing/gateway.py, README.md "VIP and billing"): the platform's Connect secret key (empty:
# the local sandbox checkout, no network), the webhook endpoint's signing secret (whsec_...), and the
# API's base (tests point it at tests/fakes/stripe.py); seconds before a call gives up.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
STRIPE_TIMEOUT = float(os.environ.get("STRIPE_TIMEOUT", "20"))
# Outgoing webhooks (messaging.webhooks): in development http:// and any address are allowed (a
# receiver on this machine); otherwise https:// to public addresses only. Seconds per read of a POST.
WEBHOOKS_DEVELOPMENT = env_bool("WEBHOOKS_DEVELOPMENT", DEBUG)
WEBHOOKS_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOKS_TIMEOUT_SECONDS", "10"))
# The authorities a receiver's certificate is checked against: a PEM file (empty: certifi's bundle).
WEBHOOKS_CA_BUNDLE = os.environ.get("WEBHOOKS_CA_BUNDLE", "")
CELERY_BEAT_SCHEDULE: dict = {
    "brand-usage-hourly": {"task": "tenants.brand_usage_refresh_all", "schedule": 3600.0},
    "lockouts-purge-hourly": {"task": "tenants.lockouts_purge", "schedule": 3600.0},
    # Brands' domains added in the last days, checked again until their DNS record or token shows.
    "domains-verify-pending": {"task": "tenants.domains_verify_pending", "schedule": 600.0},
    # Expiry every hour in every brand; tiers once a night in each brand's timezone (loyalty.tasks).
    "loyalty-nightly-hourly": {"task": "loyalty.nightly_all", "schedule": 3600.0},
    # Messages a crash left "sending" are marked "unknown", never sent again (messaging.services.sending).
    "messages-sending-expire": {
        "task": "messaging.sending_expire_all",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Campaigns whose slot has come start; runs a crash stopped go on (messaging.services.campaigns).
    "campaigns-due": {"task": "messaging.campaigns_due_all", "schedule": 60.0, "options": {"expires": 60}},
    # Time-based triggers (points expiring, activation reminders), hourly: their dedupe keys send
    # each at most once a day per member (messaging.triggers).
    "triggers-due": {"task": "messaging.triggers_due_all", "schedule": 3600.0, "options": {"expires": 3600}},
    # Events with limited seats: each confirmed member reminded once, the day before (gatherings.tasks).
    "event-reminders": {
        "task": "gatherings.reminders_due_all",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    # The community (community.tasks): invitations to review purchases, challenges' bonuses, draws
    # whose date has come, auctions whose closing time has passed, live-help conversations left open.
    "community-review-invitations": {
        "task": "community.review_invitations_all",
        "schedule": 900.0,
        "options": {"expires": 900},
    },
    "community-challenges": {
        "task": "community.challenges_sweep_all",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    "community-draws-due": {"task": "community.draws_due_all", "schedule": 60.0, "options": {"expires": 60}},
    "community-auctions-due": {
        "task": "community.auctions_close_due_all",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "community-live-sweep": {
        "task": "community.live_sweep_all",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Stripe events still waiting (broker down, a member not linked yet, a failure) handled again;
    # VIP ended for the members whose cancelled subscription's period is over (billing.tasks).
    "stripe-events-retry": {
        "task": "billing.stripe_events_retry",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "subscriptions-period-end": {
        "task": "billing.period_end_all",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    # VIP re-decided nightly in each brand's timezone: the spend rule's window slides (billing.tasks_vip).
    "vip-nightly-hourly": {"task": "billing.vip_nightly_all", "schedule": 3600.0},
    # The dashboard's monthly aggregates rebuilt nightly in each brand's timezone (backoffice.tasks).
    "dashboard-nightly-hourly": {"task": "backoffice.dashboard_rebuild_all", "schedule": 3600.0},
    # Outbox rows whose send did not happen (broker down, retry not queued) are queued again (core.outbox).
    # A sweep not started before the next one is due is dropped (the next one does its work).
    "outbox-sweep": {
        "task": "core.outbox_sweep_all",
        "schedule": OUTBOX_SWEEP_INTERVAL,
        "options": {"expires": OUTBOX_SWEEP_INTERVAL},
    },
    # Jobs whose worker died are queued again (or failed), jobs no worker took queued again (core.jobs).
    "jobs-sweep": {"task": "core.jobs_sweep_all", "schedule": 60.0, "options": {"expires": 60}},
}

# --- sessions and cookies: host-only, so a brand's session never reaches another host -----------
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
# Proxies in front of the web processes that append the client's address to X-Forwarded-For and
# say the scheme in X-Forwarded-Proto (0: clients reach the web server directly). The lockouts count
# per client address, so production must say it: trusting a proxy that is not there lets a client
# write the address counted (and claim HTTPS); ignoring one counts the proxy's address for everyone.
_TRUSTED_PROXY_COUNT = os.environ.get("TRUSTED_PROXY_COUNT", "" if PRODUCTION else "0").strip()
if not _TRUSTED_PROXY_COUNT.isdigit():
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_COUNT must be the number of proxies in front of the web processes "
        f"(0 if none), got {_TRUSTED_PROXY_COUNT or 'nothing'!r}"
    )
TRUSTED_PROXY_COUNT = int(_TRUSTED_PROXY_COUNT)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None

# --- HTTPS and what browsers may load ---------------------------------------------------------------
# Production runs behind a proxy that terminates TLS and says so (X-Forwarded-Proto, trusted when
# TRUSTED_PROXY_COUNT says there is one), or terminates TLS itself: plain
# HTTP is redirected, except /health, which load balancers probe over plain HTTP (it answers before
# any redirect anyway: HealthCheckMiddleware comes first).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
# /tls/ask is Caddy's question over the loopback, before any certificate exists (platform/Caddyfile).
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^tls/ask$"]
# HSTS: a year in production. includeSubDomains: every <slug>.<PLATFORM_DOMAIN> is ours and served
# over HTTPS; on a brand's own domain it is dropped (core.middleware_security: its subdomains are the
# brand's). Preload is off: joining browsers' preload list is hard to undo and is a decision for the
# platform domain's owner (SECURE_HSTS_PRELOAD=1), so its deploy check (W021) is silenced while off.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Content-Security-Policy (django-csp), in development too so breakage shows early: our own files
# only; inline <script> and <style> elements carry the request's nonce (`nonce="{{ request.csp_nonce }}"`),
# style attributes are not allowed (classes instead). Images may be data: URLs (Swagger UI's icons).
# Pages only (core.middleware_security.PagePolicyMiddleware): JSON answers and the API schema carry
# none (no browser renders them, and single events come at 300+/s); the API's docs pages do.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
# Every password login goes through the lockout (core.lockout): 6th failure in 15 min locks.
AUTHENTICATION_BACKENDS = ["core.lockout.LockoutModelBackend"]

# --- e-mail: the site's own (sign-up, invitations, password resets) go through the brand's e-mail
# provider when it configured one (messaging.mail_backend), else through EMAIL_PLATFORM_BACKEND:
# development writes each message to a file under var/mail/, where the link can be read;
# production names its backend in EMAIL_BACKEND. Messages to members use the brand's provider or
# the development outbox (messaging.providers.email).
EMAIL_BACKEND = "messaging.mail_backend.BrandEmailBackend"
EMAIL_PLATFORM_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"no-reply@{PLATFORM_DOMAIN}")
# The e-mail providers' HTTP APIs (anymail's `api_url` per connection; tests point them at
# tests/fakes/email.py), and the seconds a send may take (a read timeout may leave it sent: unknown).
EMAIL_API_URLS = {
    "mailgun": os.environ.get("MAILGUN_API_URL", "https://api.mailgun.net/v3"),
    "mailgun-eu": os.environ.get("MAILGUN_EU_API_URL", "https://api.eu.mailgun.net/v3"),
    "sendgrid": os.environ.get("SENDGRID_API_URL", "https://api.sendgrid.com/v3/"),
    "brevo": os.environ.get("BREVO_API_URL", "https://api.brevo.com/v3/"),
}
EMAIL_PROVIDER_TIMEOUT = float(os.environ.get("EMAIL_PROVIDER_TIMEOUT", "15"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- i18n and time: stored in UTC, shown in the brand's timezone ---------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
# The .po files (English is the source); `make` compiles them (platform/messages.py).
LOCALE_PATHS = [BASE_DIR / "locale"]
# The switcher's choice (loyalty.languages): host-only like the session's.
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- files: static through WhiteNoise; uploads under one folder per brand ------------------------
STATIC_URL = "/static/"
# Production serves what `collectstatic` gathered there; development serves from the apps (finders).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static")) if PRODUCTION else None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Per-brand files that /media/ never serves (letter batches with activation codes: messaging.letters).
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", VAR_DIR / "private"))
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
STORAGES = {
    "default": {"BACKEND": "tenants.storage.BrandFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- the backoffice's look: django-unfold (README "Backoffice"; callbacks in backoffice.navigation) ---
UNFOLD = {
    "SITE_HEADER": "backoffice.navigation.site_header",
    "SITE_TITLE": "backoffice.navigation.site_title",
    "SITE_SUBHEADER": "backoffice.navigation.site_subheader",
    "SITE_ICON": "backoffice.navigation.site_icon",
    "SITE_URL": "/",
    "SHOW_LANGUAGES": True,
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": True,
    # Its colours as a stylesheet of ours (backoffice:colors), not the inline <style> the CSP refuses,
    # then ours (backoffice/backoffice.css: the apps' pages in Django admin's markup restyled).
    "GLOBAL_CALLBACK": "backoffice.navigation.page_context",
    "STYLES": ["backoffice.navigation.colors_url", "backoffice.navigation.stylesheet_url"],
    # The sidebar by task, each item shown only with its permission.
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,
        "navigation": "backoffice.navigation.sidebar",
    },
}

# --- REST API ------------------------------------------------------------------------------------
# Events dated more than this many days ago, or more than this many seconds ahead of the server's
# clock, are refused as implausible (loyalty.services.events).
EVENTS_MAX_AGE_DAYS = int(os.environ.get("EVENTS_MAX_AGE_DAYS", "3650"))
EVENTS_MAX_AHEAD_SECONDS = int(os.environ.get("EVENTS_MAX_AHEAD_SECONDS", "300"))
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.auth.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.auth.ApiKeyRateThrottle"],
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
    # Lists: `limit` (50 unless given, 200 at most unless the view says) and `offset`.
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.BrandPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty platform API",
    "DESCRIPTION": (
        "The REST API of one brand's loyalty programme, served on the brand's own host. Start with "
        "[Getting started](/api/v1/docs/getting-started) (an API key, a member, an event, the balance, "
        "a rule); the same in [ReDoc](/api/v1/docs/redoc/).\n\n"
        "**Authentication**: every request sends `Authorization: Api-Key <key>`.\n\n"
        '**Errors** answer in one JSON shape, `{"error": {"field", "message", "code", '
        '"details"}}`: `field` names the field or header at fault, `code` is stable for programs; '
        "each operation lists its error statuses and codes.\n\n"
        "**Retries**: an operation that takes an `Idempotency-Key` header (events, adjustments, "
        "redemptions) writes once per key. Sending the same key again answers the original status "
        "and body, with the header `Idempotent-Replayed: true` (an event's body also says "
        "`replayed: true`); the same key with a different request is a 409. In a batch each event's "
        "`id` is its key and each result says `replayed`."
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Operations are described by their extend_schema, never by the docstrings of our base classes.
    "GET_LIB_DOC_EXCLUDES": "core.api.schema.doc_excludes",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.schema_complete",
    ],
    "REDOC_DIST": "SIDECAR",
    # /api/v1/docs/: Swagger UI from drf-spectacular-sidecar (our static files), works offline; no
    # call to swagger.io's online validator.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Several models have a `kind` or a `status`: each choice set gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "MemberKindEnum": "loyalty.models.Member.Kind",
        "MemberStatusEnum": "loyalty.models.Member.Status",
        "LedgerEntryKindEnum": "loyalty.models.LedgerEntry.Kind",
        "BeneficiaryEnum": "loyalty.models.EarningRule.Beneficiary",
        "GiftKindEnum": "catalog.models.Gift.Kind",
        "OrderStatusEnum": "catalog.models.Order.Status",
        # The site's languages and its default share one choice set (the platform's languages).
        "SiteLanguageEnum": LANGUAGES,
        "MessageChannelEnum": "messaging.models.Channel",
        # Triggers send on some channels only (not letters).
        "TriggerChannelEnum": "messaging.models.triggers.TRIGGER_CHANNEL_CHOICES",
        "TriggerKindEnum": "messaging.models.TriggerKind",
        "SubjectKindEnum": "community.models.SubjectKind",
        # Every "state" of the API named by what it is the state of.
        "GiftStateEnum": "catalog.api.serializers.GIFT_STATES",
        "MessageStateEnum": "messaging.models.messages.MessageState",
        "CampaignStateEnum": "messaging.models.campaigns.CampaignState",
        "CampaignRunStateEnum": "messaging.models.campaigns.RunState",
        "LetterBatchStateEnum": "messaging.models.letters.LetterBatch.State",
        "WebhookDeliveryStateEnum": "messaging.models.webhooks.WebhookDeliveryState",
        "SubscriptionStatusEnum": "billing.models.Subscription.Status",
        "PaymentStatusEnum": "billing.models.Payment.Status",
    },
}

# --- logging: every line says which brand it is about ---------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant_context": {"()": "django_tenants.log.TenantContextFilter"}},
    "formatters": {
        "tenant": {"format": "%(asctime)s %(levelname)s [%(schema_name)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["tenant_context"], "formatter": "tenant"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- demo seed ------------------------------------------------------------------------------------
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-loyalty-2026")
