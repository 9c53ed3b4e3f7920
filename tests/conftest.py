"""Shared fixtures: a real PostgreSQL test database with the template schema, committed brands,
clients bound to a brand's host, and a real Celery worker on the real Redis broker."""

from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.test import Client

TEST_PASSWORD = "test-password-2026"


def pytest_configure(config):
    """`make test` runs two pytest-xdist worker processes (Makefile's PYTEST_ARGS); each has a
    test database of its own (pytest-django suffixes its name with the worker's id, `_gw0`); what else the
    workers would share is made each one's own here, before anything reads it: the cache keys (the routing
    token, the rate-limit and lockout counters of 127.0.0.1; in the environment too, for the processes that
    tests start), and the media, letters and mail folders (brands A and B have the same schema, so the same
    folders, in both databases; not in the environment: `make run` under test has its own var/)."""
    from django.conf import settings
    from django.core.cache import caches

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    assert not hasattr(caches._connections, "default"), "the cache was made before its key prefix"
    prefix = f"{settings.CACHES['default']['KEY_PREFIX']}-{worker}"
    settings.CACHES["default"]["KEY_PREFIX"] = os.environ["CACHE_KEY_PREFIX"] = prefix
    for name in ("MEDIA_ROOT", "PRIVATE_MEDIA_ROOT", "EMAIL_FILE_PATH"):
        folder = Path(getattr(settings, name)) / worker
        setattr(settings, name, folder)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_modify_db_settings):
    """The test database, always: pytest-django would create it only when some selected test asks
    for `db`, and a run of `live_db` tests alone would then write to the development database.
    Then the platform row and the template schema that every brand is cloned from."""
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    from tenants.services import public_brand_ensure, template_schema_sync

    # Production hashes cost ~0.5 s by design; the suite creates hundreds of logins.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock():
        databases = setup_databases(
            verbosity=request.config.option.verbose, interactive=False, aliases={"default"}
        )
        assert connection.settings_dict["NAME"].startswith("test_"), "tests must run on the test database"
        public_brand_ensure(domain="localhost")
        template_schema_sync()
    yield
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        # Server and worker threads keep their persistent connections; they must go before the drop.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(databases, verbosity=request.config.option.verbose)


def brand_make(slug: str, **extra):
    """Create a brand with a known admin password (committed: call with the database unblocked)."""
    from tenants.services import brand_create

    brand, _ = brand_create(
        slug=slug,
        name=slug.replace("-", " ").title(),
        admin_email=f"admin@{slug}.example",
        admin_password=TEST_PASSWORD,
        **extra,
    )
    return brand


def _session_brand(slug: str, django_db_blocker):
    from tenants.models import Brand

    with django_db_blocker.unblock():
        return Brand.objects.filter(slug=slug).first() or brand_make(slug)


@pytest.fixture(scope="session")
def brand_a(django_db_setup, django_db_blocker):
    """A brand that lives for the whole session; tests write inside rolled-back transactions."""
    return _session_brand("alpha", django_db_blocker)


@pytest.fixture(scope="session")
def brand_b(django_db_setup, django_db_blocker):
    return _session_brand("beta", django_db_blocker)


@pytest.fixture
def live_db(django_db_setup, django_db_blocker):
    """Database access without a wrapping transaction: writes commit, so threads and workers see them.
    Tests using it clean up after themselves (usually by dropping a `fresh_brand`)."""
    with django_db_blocker.unblock():
        yield
    connection.set_schema_to_public()


@pytest.fixture
def fresh_brand(live_db):
    """A brand of its own, committed, dropped with its schema after the test."""
    brand = brand_make(f"t-{uuid.uuid4().hex[:10]}")
    yield brand
    connection.set_schema_to_public()
    brand.delete(force_drop=True)


@pytest.fixture(autouse=True)
def _back_to_public_schema():
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _in_english():
    """Each test starts in the platform's language: a language a test or a request activated stays
    active in its thread, and the next test of the process (another module's, under xdist) would
    read French."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _routing_read_again():
    """Brands, domains and keys a test wrote and rolled back must not stay cached for the next test
    (a rollback is no change that sets a new routing token): a new token, as a real change sets."""
    yield
    from tenants.routing import routing_token_renew

    routing_token_renew()


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def wsgi_served():
    """The whole app (every host) served on a free port of the loopback, in threads: its port."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
    server.daemon_threads = True
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site_server(live_db):
    """A live server (`wsgi_served`) for the test; data must be committed to be seen."""
    with wsgi_served() as port:
        yield port


def host_of(brand) -> str:
    return brand.domains.get(is_primary=True).domain


@pytest.fixture
def client_for():
    """`client_for(brand)`: a test client whose requests go to the brand's host."""

    def make(brand=None) -> Client:
        return Client(HTTP_HOST=host_of(brand) if brand is not None else "localhost")

    return make


@pytest.fixture
def staff_for(client_for):
    """`staff_for(brand)`: a client on the brand's host, logged in as its admin (`brand_make`'s)."""

    def make(brand) -> Client:
        client = client_for(brand)
        login = {"username": f"admin@{brand.slug}.example", "password": TEST_PASSWORD}
        response = client.post("/accounts/login/", login)
        assert response.status_code == 302, response.status_code
        return client

    return make


@pytest.fixture
def staff_a(db, brand_a, staff_for):
    """Brand A's admin logged in to its backoffice, the test's connection on brand A."""
    client = staff_for(brand_a)
    connection.set_tenant(brand_a)
    return client


# The API fixtures import the support modules when called: those modules import this one.
@pytest.fixture
def api_a(db, brand_a):
    """Brand A's systems, with a key of their own (the test's transaction rolls it back)."""
    from tests.factories import key_make
    from tests.support import ApiClient

    return ApiClient(brand=brand_a, key=key_make(brand_a))


@pytest.fixture
def api_b(db, brand_b):
    from tests.factories import key_make
    from tests.support import ApiClient

    return ApiClient(brand=brand_b, key=key_make(brand_b))


@pytest.fixture
def in_a(db, brand_a):
    """ORM calls of the test run in brand A's schema."""
    connection.set_tenant(brand_a)
    return brand_a


@pytest.fixture(scope="session", autouse=True)
def _tasks_to_an_unread_queue():
    """Tasks that tests queue go to a queue of this process that no worker reads, unless a module's
    `celery_worker` runs: a worker left running would take them and write to a brand while its test
    drops it (a deadlock seen under xdist), and `make run`'s worker would take them from the shared
    broker."""
    from config.celery import app

    queue = app.conf.task_default_queue = f"test-{os.getpid()}-unread"
    yield
    _queue_purge(app, queue)


def _queue_purge(app, queue: str) -> None:
    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge(queue)


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker (threads pool) on the real Redis broker, for one test module, on a queue of its
    own: tasks that the module's tests left queued or waiting (a retry's countdown) never reach another
    module's tests."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    unread = app.conf.task_default_queue
    queue = app.conf.task_default_queue = f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with django_db_blocker.unblock():
            with start_worker(
                app,
                pool="threads",
                concurrency=2,
                perform_ping_check=False,
                loglevel="WARNING",
                queues=[queue],
            ) as worker:
                yield worker
    finally:
        app.conf.task_default_queue = unread
        _queue_purge(app, queue)
