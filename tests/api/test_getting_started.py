"""docs/getting-started.md never goes stale: its code blocks are run, in order, against a live
server, the shell ones with bash (curl, and manage.py for the key) and the Python ones with
Python, reading the brand's address and key from `LOYALTY_API`, `LOYALTY_KEY` and
`LOYALTY_BRAND` as a developer's environment would hold them. The page is served on each brand's
host, sanitised."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils.timezone import now
from django_tenants.utils import schema_context
from markdown_it import MarkdownIt

from core.api.docs import GETTING_STARTED, markdown_html
from loyalty.models import Member

BIN = Path(sys.executable).parent


def _blocks(language: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parse(GETTING_STARTED.read_text())
    return [token.content for token in tokens if token.type == "fence" and token.info.strip() == language]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="module")
def environment(live_brand, django_db_blocker) -> dict[str, str]:
    """What a developer's shell holds: the API's address (the brand answers on 127.0.0.1 too, so
    the examples need no Host header), the brand's slug; the key, in Python's case."""
    from tenants.models import Domain

    with django_db_blocker.unblock():
        Domain.objects.create(
            domain="127.0.0.1",
            tenant=live_brand.brand,
            is_primary=False,
            verified_at=now(),
            method="platform",
        )
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DATABASE_URL": _database_url(),  # manage.py, on the test database
        "LOYALTY_API": f"http://127.0.0.1:{live_brand.port}/api/v1",
        "LOYALTY_BRAND": live_brand.brand.slug,
    }


def _balance(live_brand, django_db_blocker, external_id: str) -> int:
    with django_db_blocker.unblock(), schema_context(live_brand.brand.schema_name):
        return Member.objects.get(external_id=external_id).balance


def _run(command: list[str], script: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(
        command, input=script, env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    return done


def test_the_shell_examples_run_key_member_rule_event_balance(live_brand, environment, django_db_blocker):
    blocks = _blocks("sh")
    assert any("create_api_key" in block for block in blocks) and len(blocks) >= 5
    env = {name: value for name, value in environment.items() if name != "LOYALTY_KEY"}
    done = _run(["bash", "-euo", "pipefail"], "\n".join(blocks), env)
    assert '"points_awarded":42' in done.stdout.replace(" ", "")
    assert _balance(live_brand, django_db_blocker, "rider-001") == 42


def test_the_python_example_runs(live_brand, environment, django_db_blocker):
    (script,) = _blocks("python")
    done = _run([sys.executable, "-"], script, {**environment, "LOYALTY_KEY": live_brand.key})
    assert "awarded 200" in done.stdout and "balance 200" in done.stdout
    assert _balance(live_brand, django_db_blocker, "rider-002") == 200


def test_the_page_is_served_on_the_brand_host(live_brand, environment):
    import requests

    page = requests.get(f"{environment['LOYALTY_API']}/docs/getting-started", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<h1>Getting started with the loyalty API</h1>" in page.text
    assert f"<code>{environment['LOYALTY_API']}</code>" in page.text
    assert 'href="/api/v1/docs/"' in page.text


def test_the_markdown_is_rendered_sanitised():
    html = markdown_html('<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror="y">')
    assert "<script>" not in html and "<img" not in html and 'href="javascript:' not in html
