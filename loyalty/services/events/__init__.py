"""Activity events: record what a member did and award the points the earning rules give for it,
reverse what a refunded event earned, or simulate either without writing anything.

One module per stage, called once each, in this order, by `event_record` and
`events_record_batch` (`pipeline`), and by `event_simulate` where it can; they share one frozen
`Context` per call (per chunk of a batch), never one per event:

1. `checks`: the input check: an event's own fields, before any query;
2. `programme`: the brand's programme, compiled once per process and programme revision;
3. `locking`: the member row-locked (a batch chunk's members together), the key already stored;
4. `evaluation`: what the rules award (`loyalty.engine`), with the lookups they ask for;
5. `writing`: the event row, budgets, credits to the ledger, tier and badge evaluations;
6. `refunds`: a refund reverses what the original event earned;
7. `answers`: what the sender gets back, stored with the event and replayed on retries.

Idempotency: an event is stored once per idempotency key (a unique constraint), with the answer
given; the same key again returns that answer marked `replayed` and writes nothing, the same key
with another body is a 409. Concurrent senders of one key are serialised by the member's row lock
and the unique constraint: the first commits, the others find its row and replay it.

Locks, always in this order so concurrent events cannot deadlock: the event's member, the member
account of their sales rep, then each rule with a global budget (in priority order). A batch runs
in chunks of members, one transaction each: a chunk's members are locked together first, in id
order, then its events are written (one member's events in the order sent). A deadlock that
remains possible (two batches meeting on a sales rep's account and a budget) makes the database
roll one back, and that transaction is retried whole.
"""

from loyalty.services.events.answers import NotRecorded
from loyalty.services.events.checks import (
    BATCH_MAX,
    IDEMPOTENCY_KEY_MAX,
    MAX_ATTRIBUTES_BYTES,
    MAX_ATTRIBUTES_DEPTH,
    EventInput,
)
from loyalty.services.events.pipeline import (
    BATCH_CHUNK_MEMBERS,
    event_record,
    event_simulate,
    events_record_batch,
)

__all__ = [
    "BATCH_CHUNK_MEMBERS",
    "BATCH_MAX",
    "IDEMPOTENCY_KEY_MAX",
    "MAX_ATTRIBUTES_BYTES",
    "MAX_ATTRIBUTES_DEPTH",
    "EventInput",
    "NotRecorded",
    "event_record",
    "event_simulate",
    "events_record_batch",
]
