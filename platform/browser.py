#!/usr/bin/env python3
"""Make sure Debian's Chromium is installed for the end-to-end tests (Playwright drives it).

Playwright's own browser download cannot work here (no internet but the package registries), so
the tests use the system Chromium. Installed with apt-get when missing and we are root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CANDIDATES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


def ensure() -> int:
    if chromium_path():
        return 0
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(
            "Chromium is needed for the browser tests: install Debian's 'chromium' package "
            "(or set CHROMIUM_PATH).",
            file=sys.stderr,
        )
        return 1
    print("[browser] installing Debian's chromium (once)...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, stdout=subprocess.DEVNULL
    )
    return 0 if chromium_path() else 1


if __name__ == "__main__":
    if sys.argv[1:] != ["ensure"]:
        print("usage: browser.py ensure", file=sys.stderr)
        sys.exit(2)
    sys.exit(ensure())
