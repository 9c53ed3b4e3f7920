"""A real browser (Debian's Chromium driven by Playwright) against a real threaded server
(`site_server`, in tests/conftest.py)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make around it
# are still synchronous ones (the documented switch for this case).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "platform"))
_system = importlib.util.spec_from_file_location("platform_system", Path(sys.path[0]) / "system.py")
system_module = importlib.util.module_from_spec(_system)
_system.loader.exec_module(system_module)
sys.path.pop(0)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    path = system_module.chromium_path()
    assert path, "Chromium is required: `make test` installs it (platform/system.py test)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
