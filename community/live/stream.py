"""Server-sent events for live help, served by the ASGI app (granian, `config.asgi`).

Why server-sent events rather than WebSocket through Channels: what the browser sends (a message,
a rating) is an ordinary POST through the same middleware as every page (the brand's host, the
session, CSRF, the language), and only what it receives needs a long-lived response: one async
view, no second routing stack, no new dependency, and EventSource reconnects by itself with
`Last-Event-ID`, which `feed_start` uses to resend nothing twice and miss nothing.

A stream subscribes to its Redis channels first, then reads the database (so a change made in
between is seen either way), then waits for a poke or PING_SECONDS, reading again each time. Its
database work runs in a thread (`sync_to_async`) in the brand's schema, and the connection is closed
after each read: an open stream holds no database connection while it waits. A stream ends after
STREAM_SECONDS; the browser reconnects at once."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

PING_SECONDS = 10.0
STREAM_SECONDS = 120.0
RETRY_MILLISECONDS = 2000


def event(name: str, data: Any, *, event_id: int | None = None) -> bytes:
    """One server-sent event (data as JSON on one line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def in_schema(schema_name: str, read: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`read` as a coroutine running in a thread, in the brand's schema, its connection closed after
    (a stream waits for minutes: no connection is held meanwhile)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            with schema_context(schema_name):
                return read(*args, **kwargs)
        finally:
            connection.close()

    return sync_to_async(run, thread_sensitive=False)


async def sse(
    *,
    channels: list[str],
    read: Callable[[], Awaitable[bytes]],
    beat: Callable[[], Awaitable[None]] | None = None,
    ping: float = PING_SECONDS,
    lifetime: float = STREAM_SECONDS,
) -> AsyncIterator[bytes]:
    """The stream: `read()` once subscribed to `channels`, then at every poke and every `ping`
    seconds (a comment keeps proxies from closing the connection; `beat()` says the reader is
    still there). `read()` returns the events to send, b"" for none, or None to end the stream."""
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(*channels)
        chunk = await read()
        yield f"retry: {RETRY_MILLISECONDS}\n\n".encode() + (chunk or b"")
        if chunk is None:
            return
        deadline = time.monotonic() + lifetime
        next_ping = time.monotonic() + ping
        while (left := deadline - time.monotonic()) > 0:
            wait = max(0.0, min(left, next_ping - time.monotonic()))
            poked = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
            out = b""
            if poked is None and time.monotonic() >= next_ping:
                if beat is not None:
                    await beat()
                out, next_ping = b": ping\n\n", time.monotonic() + ping
            chunk = await read()
            if chunk is None:
                return
            if out or chunk:
                yield out + chunk
    finally:
        await pubsub.aclose()
        await client.aclose()
