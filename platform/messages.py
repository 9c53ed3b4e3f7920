#!/usr/bin/env python3
"""Compile the translations (`locale/<language>/LC_MESSAGES/*.po`) into the `.mo` files Django
reads, next to each `.po`, with Babel: pure Python, so `make` works without GNU gettext's msgfmt
(README.md, Languages). Fuzzy entries are left out, as msgfmt leaves them out.

    .venv/bin/python platform/messages.py [file.po ...]    (no argument: every .po under locale/)
"""

from __future__ import annotations

import sys
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent.parent / "locale"


def mo_bytes(po_path: Path) -> bytes:
    """What the `.mo` of `po_path` holds once compiled."""
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, abort_invalid=True)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_po(po_path: Path) -> Path:
    """Write the `.mo` next to `po_path` (through a temporary file: a running server never reads
    half a file); returns its path."""
    mo_path = po_path.with_suffix(".mo")
    partial = mo_path.with_suffix(".mo.partial")
    partial.write_bytes(mo_bytes(po_path))
    partial.replace(mo_path)
    return mo_path


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv] or sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
    for path in paths:
        print(f"compiled {compile_po(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
