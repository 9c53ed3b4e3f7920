"""Sending a hook after a write committed: every receiver runs, each failure is logged, none is
raised into the writer (its change stands). The apps' hooks (`loyalty.signals`,
`catalog.signals.order_status_changed`, `messaging.signals`) are sent through it, so their
receivers need no guard of their own."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger(__name__)


def signal_send_logged(signal: Signal, *, sender: Any, about: str = "", **kwargs: Any) -> None:
    """`signal` sent to every receiver with `kwargs`; a failure logged with `about` (what it was
    sent for)."""
    for receiver, error in signal.send_robust(sender=sender, **kwargs):
        if isinstance(error, Exception):
            logger.error("%s failed on %s", receiver, about or signal, exc_info=error)
