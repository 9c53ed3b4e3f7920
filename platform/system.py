#!/usr/bin/env python3
"""Make sure the system's own pieces are there, installed once with apt-get when missing (as root):

- `run`: Pango (libpangoft2), which WeasyPrint needs to render the printed letters (`make run`'s
  worker imports it);
- `test`: the same, Debian's Chromium for the end-to-end tests (Playwright drives it; its own
  browser download cannot work here: no internet but the package registries), poppler-utils
  (`pdftotext`, `pdftoppm`: the tests read the letters' PDFs back), pgbouncer, RabbitMQ and
  iproute2 (the production layout's pieces, run for real by tests/platform: the multi-host run in
  network namespaces, Celery on RabbitMQ), and axe-core's `axe.min.js` cached for the
  accessibility test (tests/e2e/test_accessibility.py).

    .venv/bin/python platform/system.py run|test

axe-core comes from the npm registry's tarball of one pinned version, checked against that
version's sha512 `integrity` (hard-coded here), fetched once into var/ (no node needed, never a
CDN at test time).
"""

from __future__ import annotations

import base64
import ctypes.util
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


def pango_path() -> str | None:
    return ctypes.util.find_library("pangoft2-1.0")


# Debian's packages, each with how to tell it is there.
PACKAGES = {
    "libpangoft2-1.0-0": pango_path,
    "chromium": chromium_path,
    "poppler-utils": lambda: shutil.which("pdftotext"),
    "pgbouncer": lambda: shutil.which("pgbouncer"),
    "rabbitmq-server": lambda: shutil.which("rabbitmq-server"),
    "iproute2": lambda: shutil.which("ip"),
}
NEEDED = {
    "run": ["libpangoft2-1.0-0"],
    "test": ["libpangoft2-1.0-0", "chromium", "poppler-utils", "pgbouncer", "rabbitmq-server", "iproute2"],
}


def packages_ensure(names: list[str]) -> int:
    missing = [name for name in names if not PACKAGES[name]()]
    if not missing:
        return 0
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(
            f"Debian's packages {', '.join(missing)} are needed: install them (or set CHROMIUM_PATH).",
            file=sys.stderr,
        )
        return 1
    print(f"[system] installing Debian's {', '.join(missing)} (once)...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=subprocess.DEVNULL
    )
    still = [name for name in missing if not PACKAGES[name]()]
    if still:
        print(f"[system] {', '.join(still)} still missing after apt-get", file=sys.stderr)
        return 1
    return 0


def ensure(what: str) -> int:
    return packages_ensure(NEEDED[what]) or (axe_ensure() if what == "test" else 0)


if __name__ == "__main__":
    if sys.argv[1:] not in (["run"], ["test"]):
        print("usage: system.py run|test", file=sys.stderr)
        sys.exit(2)
    sys.exit(ensure(sys.argv[1]))
