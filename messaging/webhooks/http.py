"""The one function that talks to a brand's receiver: a signed POST to the checked address
(`addresses.target_resolve`), with short timeouts, no redirect followed, no proxy from the
environment, and at most `RESPONSE_BODY_KEPT` characters of the answer read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter

from messaging.models.webhooks import RESPONSE_BODY_KEPT

from .addresses import AddressRefused, target_resolve
from .signing import SIGNATURE_HEADER, signature_header

USER_AGENT = "Loyalty-Webhooks/1"


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the receiver's status and the start of its body, or the error."""

    status_code: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class PinnedAdapter(HTTPAdapter):
    """Connects to the address in the URL while TLS names the host (SNI, certificate check)."""

    def __init__(self, *, host: str) -> None:
        self.host = host
        super().__init__(max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        # urllib3 drops both for plain http:// pools (development).
        pool_kwargs.update(server_hostname=self.host, assert_hostname=self.host)
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


def webhook_post(*, url: str, secret: str, body: bytes, event_id: str, event_type: str) -> Answer:
    """POST `body` to `url`, signed now with `secret`. Never raises for the receiver's sake: a
    refused address, a timeout or a broken connection is an Answer with its error."""
    started = time.monotonic()

    def answer(status_code: int | None = None, text: str = "", error: str = "") -> Answer:
        return Answer(status_code, text, error[:2000], int((time.monotonic() - started) * 1000))

    try:
        target = target_resolve(url)
    except AddressRefused as refused:
        return answer(error=str(refused))
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Loyalty-Event-Id": event_id,
        "X-Loyalty-Event-Type": event_type,
        SIGNATURE_HEADER: signature_header(secret=secret, timestamp=int(time.time()), body=body),
    }
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    with requests.Session() as session:
        session.trust_env = False  # no proxy, .netrc or CA bundle from the worker's environment
        session.mount(f"{target.scheme}://", PinnedAdapter(host=target.host))
        try:
            response = session.post(
                target.pinned_url,
                data=body,
                headers=headers,
                timeout=(min(3.0, timeout), timeout),
                allow_redirects=False,
                stream=True,
                verify=settings.WEBHOOKS_CA_BUNDLE or True,
            )
            with response:
                raw = response.raw.read(RESPONSE_BODY_KEPT * 4, decode_content=True) or b""
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            return answer(error=f"{error.__class__.__name__}: {error}")
    text = raw.decode(response.encoding or "utf-8", errors="replace")[:RESPONSE_BODY_KEPT]
    error = "" if 200 <= response.status_code < 300 else f"answered {response.status_code}"
    if 300 <= response.status_code < 400:
        error += f" (a redirect to {response.headers.get('Location', '?')[:300]}, not followed)"
    return answer(response.status_code, text, error)
