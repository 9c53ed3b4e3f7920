import os
import socket
import subprocess
import sys
from pathlib import Path

from django.db import connection

from tenants.models import Brand
from tests.conftest import TEST_PASSWORD
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_brand_home_is_served_on_its_host_with_its_name(db, brand_a, client_for):
    response = client_for(brand_a).get("/")
    assert response.status_code == 200
    assert "Welcome to Alpha" in response.content.decode()


def test_extra_domain_serves_the_same_brand(live_db, client_for):
    from django.test import Client

    from tests.conftest import brand_make

    brand = brand_make("extra-dom", extra_domains=["club.extra-dom.example"])
    try:
        response = Client(HTTP_HOST="club.extra-dom.example").get("/")
        assert response.status_code == 200
        assert "Welcome to Extra Dom" in response.content.decode()
    finally:
        connection.set_schema_to_public()
        brand.delete(force_drop=True)


def test_unknown_host_gets_a_clear_404_page(db, client_for):
    from django.test import Client

    response = Client(HTTP_HOST="nobody.localhost").get("/")
    assert response.status_code == 404
    assert "No loyalty club lives at this address" in response.content.decode()


def test_health_is_200_on_any_host(db, brand_a, client_for):
    from django.test import Client

    for client in (client_for(brand_a), client_for(None), Client(HTTP_HOST="10.0.0.7")):
        response = client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_is_503_when_the_broker_is_unreachable(db, settings, client_for):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client_for(None).get("/health")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert response.json()["database"] == "ok"


def test_health_is_503_when_the_database_is_unreachable():
    """A separate process whose DATABASE_URL points at a closed port."""
    code = (
        "import django, os; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='localhost').get('/health');"
        "print(r.status_code, r.json()['database'][:4])"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/x",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.stdout.split() == ["503", "down"], result.stderr[-2000:]


def test_operator_console_lists_creates_suspends_and_reactivates(live_db, client_for):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser(username="op", email="op@example.com", password=TEST_PASSWORD)
    client = client_for(None)
    try:
        assert client.get("/console/").status_code == 302  # login first
        assert client.post("/login/", {"username": "op", "password": TEST_PASSWORD}).status_code == 302
        response = client.post(
            "/console/brands/",
            {
                "name": "Console Made",
                "slug": "console-made",
                "admin_email": "boss@cm.example",
                "domain": "",
                "timezone": "Europe/Paris",
                "currency": "EUR",
            },
        )
        assert response.status_code == 302
        page = client.get("/console/").content.decode()
        assert "Console Made" in page and "console-made.localhost" in page
        brand = Brand.objects.get(slug="console-made")
        client.post(f"/console/brands/{brand.pk}/suspend/")
        brand.refresh_from_db()
        assert brand.is_suspended
        assert client_for(brand).get("/").status_code == 403
        client.post(f"/console/brands/{brand.pk}/reactivate/")
        brand.refresh_from_db()
        assert not brand.is_suspended
        assert client_for(brand).get("/").status_code == 200

        assert client.post(f"/console/brands/{brand.pk}/explode/").status_code == 400
        assert client.post("/console/brands/999999/suspend/").status_code == 404
        bad = client.post(
            "/console/brands/",
            {
                "name": "Dup",
                "slug": "console-made",
                "admin_email": "x@y.example",
                "domain": "",
                "timezone": "Europe/Paris",
                "currency": "EUR",
            },
        )
        assert bad.status_code == 400
        assert "already exists" in bad.content.decode()
        assert Brand.objects.filter(name="Dup").count() == 0
    finally:
        connection.set_schema_to_public()
        Brand.objects.filter(slug="console-made").first().delete(force_drop=True)
        # Public users are deleted in SQL: the ORM's cascade would look for brand-only tables
        # (ledger entries reference staff users) that do not exist in the public schema.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM auth_user WHERE username = 'op'")


def test_brand_staff_cannot_use_the_operator_console(db, brand_a, client_for):
    client = client_for(None)
    response = client.post(
        "/login/", {"username": f"admin@{brand_a.slug}.example", "password": TEST_PASSWORD}
    )
    assert response.status_code == 200  # no such user in the public schema
    assert client.get("/console/").status_code == 302


def test_production_without_secret_key_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DJANGO_ENV="production", DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_make_run_with_port_taken_says_so_and_exits(tmp_path):
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "platform/run.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PORT": str(port)},
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"Port {port} is already in use" in result.stdout
