"""What the stages of one call share, made once per call: per single event, per chunk of a batch
(never per event of a batch)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loyalty.services.events.locking import Prefetched
    from loyalty.services.events.programme import Programme
    from loyalty.services.events.writing import Followups


@dataclass(frozen=True, slots=True)
class Context:
    programme: Programme
    span: tuple[datetime, datetime]  # the dates an event may have (`checks.plausible_span`)
    # Recording: the tier and badge evaluations to run at the end of the call (None: simulating).
    followups: Followups | None = None
    prefetched: Prefetched | None = None  # a batch chunk's members, row-locked together
    # The programme is the process's cached one, not yet checked against the revision (the
    # member's lock query checks it: `ProgrammeToCheck`).
    unverified: bool = False
