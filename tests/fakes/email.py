"""A local fake of Mailgun's sending API at its HTTP boundary, and a local SMTP server (`FakeSmtp`),
for tests and benches.

    with FakeMailgun() as fake:                # a real HTTP server on 127.0.0.1, in threads
        settings.EMAIL_API_URLS = {**settings.EMAIL_API_URLS, "mailgun": fake.base_url}
        ... give the brand fake.credentials() (api_key, sender_domain, webhook_signing_key) ...
        fake.requests                          # every request received, as `Received`, in order
        fake.fail_next(400)                    # the next send: Mailgun's 400 (or 401, 404, 429, 500, 503)
        fake.fail_next("hang")                 # the next send is read, recorded, never answered
        fake.tracking_event(received, "failed", severity="permanent")  # a signed webhook body

`POST /v3/<domain>/messages` checks what Mailgun checks: HTTP basic auth (`api` : the API key; 401
"Forbidden" otherwise), a domain of the account (404 "Domain not found"), the form fields (`from`
and every `to` an address, `subject`, a `text` or `html` part; 400 with Mailgun's message
otherwise), and answers 200 with Mailgun's JSON (`{"id": "<...@domain>", "message": "Queued.
Thank you."}`). Form bodies are read url-encoded or multipart, as Mailgun reads both. Tracking
events are shaped like Mailgun's webhooks (`signature` + `event-data`), signed as Mailgun signs
them (HMAC-SHA256 of timestamp + token with the webhook signing key). This module imports
nothing of the tests'.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import socketserver
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.parser import BytesParser
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

_PATH = re.compile(r"^/v3/(?P<domain>[^/]+)/messages$")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>.]+(\.[^@\s<>.]+)*$")


@dataclass
class Received:
    """One request the fake received; `form` holds every value of each field."""

    method: str
    path: str
    domain: str
    authorised: bool
    form: dict[str, list[str]]
    message_id: str = ""
    status: int = 0  # what the fake answered (0: nothing, it hung)
    at: float = field(default_factory=time.time)

    def get(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0] if values else default

    @property
    def headers(self) -> dict[str, str]:
        """The message's own headers (Mailgun's `h:` fields)."""
        return {key[2:]: values[0] for key, values in self.form.items() if key.startswith("h:")}

    @property
    def variables(self) -> dict[str, str]:
        """The custom data (Mailgun's `v:` fields), given back in its webhooks' user-variables."""
        return {key[2:]: values[0] for key, values in self.form.items() if key.startswith("v:")}


def _form(content_type: str, body: bytes) -> dict[str, list[str]]:
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=policy.default).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        form: dict[str, list[str]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                form.setdefault(str(name), []).append(part.get_content() if not part.get_filename() else "")
        return form
    return parse_qs(body.decode("utf-8"), keep_blank_values=True)


def _form_problem(form: dict[str, list[str]]) -> str:
    """Mailgun's 400 message for a form it refuses, or ""."""
    for name in ("from", "to", "subject"):
        if not any(value.strip() for value in form.get(name, [])):
            return f"'{name}' parameter is missing"
    if not (form.get("text") or form.get("html")):
        return "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"
    for name in ("from", "to"):
        for _, address in getaddresses(form[name]):
            if not _ADDRESS.match(address):
                return f"'{name}' parameter is not a valid address. please check documentation"
    return ""


class FakeMailgun:
    def __init__(self, *, domain: str = "mg.brand.example") -> None:
        self.domain = domain
        self.api_key = f"key-{secrets.token_hex(16)}"
        self.webhook_signing_key = secrets.token_hex(16)
        self.requests: list[Received] = []
        self._failures: list[int | str] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeMailgun:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v3"

    def credentials(self) -> dict[str, str]:
        """What a brand's `email_credentials` hold for this account."""
        return {
            "api_key": self.api_key,
            "sender_domain": self.domain,
            "webhook_signing_key": self.webhook_signing_key,
        }

    def fail_next(self, failure: int | str) -> None:
        """The next send answers `failure` (an HTTP status) or, with "hang", is never answered."""
        with self._lock:
            self._failures.append(failure)

    @property
    def sent(self) -> list[Received]:
        """The sends Mailgun accepted."""
        return [received for received in self.requests if received.status == 200]

    # --- webhooks ----------------------------------------------------------------------------
    def tracking_event(
        self,
        received: Received,
        event: str,
        *,
        severity: str = "",
        signing_key: str | None = None,
        recipient: str | None = None,
    ) -> bytes:
        """The JSON body of Mailgun's webhook for `event` ("delivered", "failed", "complained"...)
        on a message the fake accepted, signed with the account's key unless another is given."""
        timestamp, token = str(int(time.time())), secrets.token_hex(25)
        key = (signing_key or self.webhook_signing_key).encode()
        signature = hmac.new(key, f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
        data: dict = {
            "event": event,
            "id": secrets.token_urlsafe(16),
            "timestamp": time.time(),
            "recipient": recipient or getaddresses(received.form["to"])[0][1],
            "message": {"headers": {"message-id": received.message_id.strip("<>"), "to": received.get("to")}},
            "user-variables": received.variables,
            "tags": received.form.get("o:tag", []),
        }
        if event == "failed":
            data["severity"] = severity or "permanent"
            data["reason"] = "bounce" if data["severity"] == "permanent" else "generic"
            data["delivery-status"] = {
                "code": 550 if data["severity"] == "permanent" else 452,
                "message": "5.1.1 The email account that you tried to reach does not exist",
                "description": "",
            }
        return json.dumps(
            {
                "signature": {"timestamp": timestamp, "token": token, "signature": signature},
                "event-data": data,
            }
        ).encode()

    # --- the server --------------------------------------------------------------------------
    def _next_failure(self) -> int | str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, payload: object) -> None:
                body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "text/plain" if isinstance(payload, str) else "application/json"
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                match = _PATH.match(self.path)
                auth = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(f"api:{fake.api_key}".encode()).decode()
                received = Received(
                    method="POST",
                    path=self.path,
                    domain=match["domain"] if match else "",
                    authorised=hmac.compare_digest(auth, expected),
                    form=_form(self.headers.get("Content-Type", ""), body),
                )
                with fake._lock:
                    fake.requests.append(received)
                if not match:
                    received.status = 404
                    return self._answer(404, "404 page not found")
                if not received.authorised:
                    received.status = 401
                    return self._answer(401, "Forbidden")
                if received.domain != fake.domain:
                    received.status = 404
                    return self._answer(404, {"message": f"Domain not found: {received.domain}"})
                failure = fake._next_failure()
                if failure == "hang":
                    fake._release.wait(30)
                    self.close_connection = True
                    return None
                if isinstance(failure, int):
                    received.status = failure
                    messages = {
                        400: "'to' parameter is not a valid address. please check documentation",
                        401: "Forbidden",
                        404: f"Domain not found: {received.domain}",
                        429: "Too many requests",
                    }
                    return self._answer(failure, {"message": messages.get(failure, "Internal Server Error")})
                problem = _form_problem(received.form)
                if problem:
                    received.status = 400
                    return self._answer(400, {"message": problem})
                stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
                received.message_id = f"<{stamp}.{secrets.token_hex(8)}@{fake.domain}>"
                received.status = 200
                return self._answer(200, {"id": received.message_id, "message": "Queued. Thank you."})

        return Handler


def sender_address(received: Received) -> Address:
    """The `from` of a send, parsed (an RFC 2047 encoded name decoded, as Mailgun does)."""
    name, address = getaddresses([received.get("from")])[0]
    name = str(make_header(decode_header(name)))
    user, _, domain = address.partition("@")
    return Address(display_name=name, username=user, domain=domain)


class FakeSmtp:
    """A local SMTP server (the few commands Django's SMTP backend speaks, no TLS): every message
    accepted is kept parsed in `messages`; `refuse_recipients` answers RCPT with a 550.

        with FakeSmtp() as smtp:
            ... the brand's credentials {"host": "127.0.0.1", "port": smtp.port} ...
            smtp.messages[0]["List-Unsubscribe"]
    """

    def __init__(self) -> None:
        self.messages: list = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_recipients = False
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 fake.smtp ESMTP")
                sender, recipients = "", []
                while line := self.rfile.readline():
                    command = line.decode("utf-8", "replace").strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-fake.smtp\r\n250 8BITMIME")
                    elif verb == "MAIL":
                        sender, recipients = command.partition(":")[2].strip(" <>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        if fake.refuse_recipients:
                            self.reply("550 5.1.1 No such user")
                        else:
                            recipients.append(command.partition(":")[2].strip(" <>"))
                            self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        fake.messages.append(BytesParser(policy=policy.default).parsebytes(data))
                        fake.envelopes.append((sender, recipients))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("250 OK")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def __enter__(self) -> FakeSmtp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
