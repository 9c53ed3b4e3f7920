#!/usr/bin/env python3
"""Make sure Debian's Chromium is installed for the end-to-end tests (Playwright drives it), and
axe-core's `axe.min.js` is cached for the accessibility test (tests/e2e/test_accessibility.py).

Playwright's own browser download cannot work here (no internet but the package registries), so
the tests use the system Chromium. Installed with apt-get when missing and we are root.

axe-core comes from the npm registry's tarball of one pinned version, checked against that
version's sha512 `integrity` (hard-coded here), fetched once into var/ (no node needed, never a
CDN at test time).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser")

AXE_VERSION = "4.14.1"
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
# `dist.integrity` of https://registry.npmjs.org/axe-core/4.14.1
AXE_INTEGRITY = (
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)
AXE_PATH = Path(__file__).resolve().parents[1] / "var" / "axe" / f"axe-core-{AXE_VERSION}" / "axe.min.js"


def chromium_path() -> str | None:
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


def axe_path() -> Path | None:
    return AXE_PATH if AXE_PATH.is_file() else None


def axe_ensure() -> int:
    if axe_path():
        return 0
    print(f"[browser] fetching axe-core {AXE_VERSION} from the npm registry (once)...", flush=True)
    with urllib.request.urlopen(AXE_TARBALL, timeout=60) as answer:
        tarball = answer.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != AXE_INTEGRITY:
        print(f"axe-core tarball integrity mismatch: {digest} != {AXE_INTEGRITY}", file=sys.stderr)
        return 1
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        script = archive.extractfile("package/axe.min.js")
        assert script is not None
        content = script.read()
    AXE_PATH.parent.mkdir(parents=True, exist_ok=True)
    partial = AXE_PATH.with_suffix(".part")
    partial.write_bytes(content)
    partial.replace(AXE_PATH)
    return 0


def ensure() -> int:
    return chromium_ensure() or axe_ensure()


def chromium_ensure() -> int:
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
