"""A local fake of Twilio's REST API (Messages and Calls) at its HTTP boundary, for tests and benches.

    with FakeTwilio() as fake:                 # a real HTTP server on 127.0.0.1, in threads
        settings.TWILIO_API_BASE = fake.base_url
        ... give the brand fake.account_sid / fake.auth_token, send ...
        fake.requests                          # every request received, as `Received`, in order
        fake.fail_next(400)                    # the next send: Twilio's error 21211 (or code=...)
        fake.fail_next(500); fake.fail_next(429)
        fake.fail_next("hang")                 # the next send is read, recorded, never answered
        fake.send_callback(sid, "delivered")   # Twilio's status callback, signed, to our hook

`POST /2010-04-01/Accounts/{sid}/Messages.json` and `Calls.json` check what Twilio checks: HTTP
basic auth (account sid : auth token, 401 with error 20003 otherwise), the form fields (To in E.164,
From, Body for an SMS, Twiml as a `<Response>` document for a call, StatusCallback an http(s) URL,
StatusCallbackEvent among Twilio's) and answer 201 with the JSON Twilio answers (sid "SM..." or
"CA...", status "queued"...). Callbacks carry the fields Twilio's do and the `X-Twilio-Signature`
computed as Twilio does (`RequestValidator.compute_signature`, over the callback URL and fields,
with the account's auth token). The server is `tests/fakes/http.py`'s (keep-alive, TCP_NODELAY): about
200 sends a second from one client thread, 450 from four, on the loaded 2-core development machine.
This module imports nothing of the tests'.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

from .http import FakeHandler, FakeServer, callback_post

API_VERSION = "2010-04-01"
_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>AC[0-9a-zA-Z]+)/(?P<kind>Messages|Calls)\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CALL_EVENTS = {"initiated", "ringing", "answered", "completed"}
_ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "An internal server error has occurred"),
    503: (20503, "Service unavailable"),
}


@dataclass
class Received:
    """One request the fake received. `form` holds every value of each field (StatusCallbackEvent
    repeats); `sid` is the one the fake gave the message or call (also when it did not answer)."""

    method: str
    path: str
    account_sid: str
    kind: str  # "Messages" or "Calls" ("" for a path the fake does not serve)
    authorised: bool
    form: dict[str, list[str]]
    sid: str = ""
    status: int = 0  # what the fake answered (0: nothing, it hung)
    at: float = field(default_factory=time.time)

    def get(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0] if values else default


@dataclass(frozen=True)
class SignedCallback:
    """A callback as Twilio sends it: the URL, the form fields and their signature."""

    url: str
    params: dict[str, str]
    signature: str

    def send(self, *, connect_to: str | None = None, timeout: float = 10.0) -> int:
        """POST it to its URL as Twilio does (`callback_post`: `connect_to` a proxy's "host:port");
        the status answered."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.signature,
            "User-Agent": "TwilioProxy/1.1",
        }
        body = urlencode(self.params).encode()
        return callback_post(self.url, body=body, headers=headers, connect_to=connect_to, timeout=timeout)


class FakeTwilio(FakeServer):
    """The fake server (module docstring). `accounts` maps account sids to auth tokens (one made up
    if not given: `account_sid`, `auth_token`)."""

    def __init__(self, accounts: dict[str, str] | None = None) -> None:
        if not accounts:
            accounts = {f"AC{uuid.uuid4().hex}": secrets.token_hex(16)}
        self.accounts = dict(accounts)
        self.account_sid, self.auth_token = next(iter(self.accounts.items()))
        self.requests: list[Received] = []
        self._failures: list[tuple[int | str, int | None]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._received = threading.Condition(self._lock)
        self._callbacks: dict[str, int] = {}

    # --- the server's life --------------------------------------------------------------------

    def _handler(self) -> type[_Handler]:
        fake = self

        class Handler(_Handler):
            twilio = fake

        return Handler

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        super().__exit__(*exc_info)

    # --- what tests ask -----------------------------------------------------------------------

    def fail_next(self, status: int | str, *, code: int | None = None) -> None:
        """The next send fails: an HTTP status answered with Twilio's error JSON (`code`: Twilio's
        error code, else a usual one for the status), or "hang": read, recorded, never answered
        (until the fake stops or `release()`), as a timeout sees it. Calls add up, in order."""
        with self._lock:
            if status == "hang":
                self._release.clear()
            self._failures.append((status, code))

    def release(self) -> None:
        """The hung requests end (their connections close without an answer)."""
        self._release.set()

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[Received]:
        """The requests once at least `count` were received (AssertionError after `timeout` s)."""
        deadline = time.monotonic() + timeout
        with self._received:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the fake Twilio received {len(self.requests)} of {count} requests")
                self._received.wait(left)
            return list(self.requests)

    def sent(self, kind: str | None = None) -> list[Received]:
        """The sends answered 201, of `kind` ("Messages", "Calls") or both."""
        return [r for r in self.requests if r.status == 201 and (kind is None or r.kind == kind)]

    def request_of(self, sid: str) -> Received:
        return next(r for r in self.requests if r.sid == sid)

    def callback(self, sid: str, status: str, *, token: str | None = None, **fields: str) -> SignedCallback:
        """Twilio's status callback for the message or call `sid` (MessageStatus or CallStatus
        `status`), to the StatusCallback it was sent with, signed with its account's token (or
        `token`). `fields` adds or replaces fields (ErrorCode="30003"...)."""
        request = self.request_of(sid)
        url = request.get("StatusCallback")
        if not url:
            raise AssertionError(f"{sid} was sent without a StatusCallback")
        common = {"AccountSid": request.account_sid, "ApiVersion": API_VERSION}
        if request.kind == "Messages":
            params = {
                **common,
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "From": request.get("From"),
                "To": request.get("To"),
            }
        else:
            params = {
                **common,
                "CallSid": sid,
                "CallStatus": status,
                "Direction": "outbound-api",
                "From": request.get("From"),
                "Caller": request.get("From"),
                "To": request.get("To"),
                "Called": request.get("To"),
                "CallbackSource": "call-progress-events",
                "Timestamp": formatdate(usegmt=True),
                "SequenceNumber": str(self._callback_number(sid)),
            }
            if status == "completed":
                params["CallDuration"] = "12"
        params.update(fields)
        return self.signed(url, params, token=token or self.accounts[request.account_sid])

    def _callback_number(self, sid: str) -> int:
        with self._lock:
            self._callbacks[sid] = number = self._callbacks.get(sid, -1) + 1
        return number

    def send_callback(self, sid: str, status: str, *, connect_to: str | None = None, **fields: str) -> int:
        """`callback(sid, status, **fields)` POSTed to our hook over HTTP; the status answered."""
        return self.callback(sid, status, **fields).send(connect_to=connect_to)

    def inbound(
        self,
        url: str,
        *,
        sender: str,
        body: str,
        to: str = "+33700000000",
        token: str | None = None,
        **fields: str,
    ) -> SignedCallback:
        """An SMS a phone sent to the brand's number, as Twilio hands it to the inbound hook `url`
        (`fields` adds some: OptOutType="STOP" as Twilio's opt-out handling says)."""
        sid = f"SM{uuid.uuid4().hex}"
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            **fields,
        }
        return self.signed(url, params, token=token)

    def signed(self, url: str, params: dict[str, str], *, token: str | None = None) -> SignedCallback:
        signature = RequestValidator(token or self.auth_token).compute_signature(url, params)
        return SignedCallback(url=url, params=params, signature=signature)

    # --- the API, for the handler ---------------------------------------------------------------

    def _answer(self, received: Received) -> tuple[int, dict] | None:
        """What the API answers `received` (recorded first); None: hang."""
        with self._received:
            self.requests.append(received)
            self._received.notify_all()
            failure = (
                self._failures.pop(0) if received.authorised and received.kind and self._failures else None
            )
        if not received.kind:
            return 404, _error(404)
        if not received.authorised:
            return 401, _error(401)
        received.sid = ("SM" if received.kind == "Messages" else "CA") + uuid.uuid4().hex
        if failure is not None:
            status, code = failure
            if status == "hang":
                return None
            return int(status), _error(int(status), code)
        invalid = _invalid(received)
        if invalid is not None:
            return 400, _error(400, invalid[0], invalid[1])
        return 201, _resource(received)


class _Handler(FakeHandler):
    twilio: FakeTwilio

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        match = _PATH.match(urlsplit(self.path).path)
        account = match["account"] if match else ""
        received = Received(
            method="POST",
            path=self.path,
            account_sid=account,
            kind=match["kind"] if match else "",
            authorised=bool(match) and self._authorised(account),
            form=form,
        )
        answer = self.twilio._answer(received)
        if answer is None:
            self.twilio._release.wait()
            self.close_connection = True
            return
        received.status, payload = answer
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Twilio-Request-Id": f"RQ{uuid.uuid4().hex}",
        }
        self.answer(received.status, json.dumps(payload).encode(), headers)

    def _authorised(self, account: str) -> bool:
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            sid, _, token = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        expected = self.twilio.accounts.get(sid)
        return sid == account and expected is not None and secrets.compare_digest(token, expected)


def _error(status: int, code: int | None = None, message: str | None = None) -> dict:
    usual_code, usual_message = _ERRORS.get(status, (status * 100, "Error"))
    code = code or usual_code
    return {
        "code": code,
        "message": message or usual_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _invalid(received: Received) -> tuple[int, str] | None:
    """Twilio's error code and message for a send it refuses, or None."""
    to, sender = received.get("To"), received.get("From")
    if not _E164.match(to):
        return 21211, f"The 'To' number {to} is not a valid phone number."
    callback = received.get("StatusCallback")
    if callback and urlsplit(callback).scheme not in ("http", "https"):
        return 21609, "The StatusCallback URL is not a valid URL."
    if received.kind == "Messages":
        if not sender:
            return 21603, "A 'From' phone number is required."
        if not received.get("Body"):
            return 21602, "Message body is required."
        if len(received.get("Body")) > 1600:
            return 21617, "The concatenated message body exceeds the 1600 character limit."
        return None
    if not _E164.match(sender):
        return 21212, f"The 'From' number {sender} is not a valid phone number."
    twiml = received.get("Twiml")
    if not twiml and not received.get("Url"):
        return 21205, "Url parameter is required."
    if twiml:
        try:
            root = ElementTree.fromstring(twiml)
        except ElementTree.ParseError:
            return 12100, "Document parse failure"
        if root.tag != "Response":
            return 12100, "Document parse failure"
    events = set(received.form.get("StatusCallbackEvent", []))
    if not events <= _CALL_EVENTS:
        return 21626, "StatusCallbackEvent is not valid."
    return None


def _resource(received: Received) -> dict:
    """The message or call Twilio answers after creating it."""
    now = formatdate(usegmt=True)
    uri = f"/{API_VERSION}/Accounts/{received.account_sid}/{received.kind}/{received.sid}.json"
    common = {
        "sid": received.sid,
        "account_sid": received.account_sid,
        "api_version": API_VERSION,
        "date_created": now,
        "date_updated": now,
        "direction": "outbound-api",
        "from": received.get("From"),
        "to": received.get("To"),
        "price": None,
        "price_unit": "USD",
        "status": "queued",
        "uri": uri,
    }
    if received.kind == "Messages":
        return {
            **common,
            "body": received.get("Body"),
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }
    return {
        **common,
        "annotation": None,
        "answered_by": None,
        "caller_name": None,
        "duration": None,
        "end_time": None,
        "forwarded_from": None,
        "from_formatted": received.get("From"),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "queue_time": "0",
        "start_time": None,
        "to_formatted": received.get("To"),
        "trunk_sid": None,
        "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json")},
    }
