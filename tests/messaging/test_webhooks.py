"""Deliveries of outgoing webhooks to a real local receiver (tests/fakes/webhooks.py): signed as
docs/webhooks.md says (its own verification recipe runs here), the event id stable across retries,
the backoff for a day then the endpoint switched off and the brand told, send again, redirects not
followed, hangs cut short; and targets that are not public refused, before and after DNS."""

from __future__ import annotations

import itertools
import json
import re
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context

from core.errors import InvalidInput, Refused
from loyalty.models import ProgrammeSettings
from messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from messaging.selectors.webhooks import SUBSCRIPTIONS_KEY
from messaging.services.webhooks import (
    webhook_body,
    webhook_delivery_send,
    webhook_delivery_send_again,
    webhook_endpoint_create,
    webhook_endpoint_update,
    webhook_event_emit,
)
from tests.fakes.webhooks import webhook_receiver

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def _subscriptions_forgotten(brand_a):
    """The cached subscriptions of the rolled-back endpoints go with them."""
    yield
    with schema_context(brand_a.schema_name):
        cache.delete(SUBSCRIPTIONS_KEY)


@pytest.fixture
def receiver():
    with webhook_receiver() as served:
        yield served


def docs_verify():
    """The `verify_signature` function of docs/webhooks.md, as a receiver would paste it."""
    text = (settings.BASE_DIR / "docs" / "webhooks.md").read_text()
    namespace: dict = {}
    exec(re.search(r"```python\n(.*?)```", text, re.S).group(1), namespace)
    return namespace["verify_signature"]


def _endpoint(url: str, events=("subscription.changed",)) -> WebhookEndpoint:
    return webhook_endpoint_create(data={"url": url, "events": list(events)})


def _delivery(endpoint: WebhookEndpoint) -> WebhookDelivery:
    data = {"subscription": "vip-1", "state": "active"}
    assert webhook_event_emit(type="subscription.changed", data=data) >= 1
    return WebhookDelivery.objects.filter(endpoint=endpoint).latest("id")


def _resolving(monkeypatch, names: dict[str, list[str]]) -> list[str]:
    """`socket.getaddrinfo` (the OS boundary) answering `names` with their addresses, in turn for
    each lookup when several lists are given; other names as the system does. The names looked up."""
    system = socket.getaddrinfo
    asked: list[str] = []

    def lookup(host, port, *args, **kwargs):
        if host not in names:
            return system(host, port, *args, **kwargs)
        asked.append(host)
        answers = names[host]
        address = answers[min(asked.count(host), len(answers)) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return asked


def test_a_delivery_is_signed_as_the_documented_recipe_checks(in_a, receiver):
    endpoint = _endpoint(receiver.url)
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    delivery = _delivery(endpoint)

    sent = webhook_delivery_send(delivery_id=delivery.pk, attempts=0)

    assert sent.state == WebhookDelivery.State.SUCCEEDED and sent.attempts == 1
    (request,) = receiver.requests
    assert request.path == "/hooks/loyalty"
    assert request.body == webhook_body(sent)
    body = json.loads(request.body)
    assert body["id"] == str(delivery.event_id) == request.header("X-Loyalty-Event-Id")
    assert body["type"] == "subscription.changed" == request.header("X-Loyalty-Event-Type")
    assert body["data"] == {"subscription": "vip-1", "state": "active"}
    verify = docs_verify()
    signature = request.header("X-Loyalty-Signature")
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", signature)
    assert verify(endpoint.secret, signature, request.body)
    assert not verify(endpoint.secret, signature, request.body + b" ")
    assert not verify("whsec_another", signature, request.body)
    assert not verify(endpoint.secret, signature, request.body, tolerance=-1)
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.status_code, attempt.response_body, attempt.error) == (200, '{"ok": true}', "")
    # Settled: another copy of the task sends nothing.
    assert webhook_delivery_send(delivery_id=delivery.pk, attempts=0) is None
    assert webhook_delivery_send(delivery_id=delivery.pk, attempts=1) is None
    assert len(receiver.requests) == 1


def test_a_retry_past_the_sweepers_window_is_due_for_the_sweeper_when_it_is_due(in_a, receiver):
    """A retry within OUTBOX_REQUEUE_AFTER (60 s) is queued by the task with its countdown, and the
    sweeper gives that copy the window to run; a later one (2 min, 4 min...) is queued by the
    sweeper alone, so the row is its at the retry's own time, not a window later."""
    endpoint = _endpoint(receiver.url)
    delivery = _delivery(endpoint)
    receiver.answer(500, b"down")
    window = timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER)
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        for attempts, (delay, requeued_after_it) in enumerate(
            [
                (timedelta(minutes=1), window),
                (timedelta(minutes=2), timedelta(0)),
                (timedelta(minutes=4), timedelta(0)),
            ]
        ):
            failed = webhook_delivery_send(delivery_id=delivery.pk, attempts=attempts)
            assert failed.state == WebhookDelivery.State.FAILED
            assert failed.next_attempt_at == timezone.now() + delay
            assert failed.requeue_at == failed.next_attempt_at + requeued_after_it
            clock.move_to(failed.next_attempt_at)


def test_the_event_id_and_body_stay_the_same_across_retries_and_send_again(in_a, receiver):
    endpoint = _endpoint(receiver.url)
    delivery = _delivery(endpoint)
    receiver.answer(500, b"down for maintenance")
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        failed = webhook_delivery_send(delivery_id=delivery.pk, attempts=0)
        assert failed.state == WebhookDelivery.State.FAILED
        assert (failed.last_response_status, failed.last_response_body) == (500, "down for maintenance")
        assert failed.next_attempt_at == failed.first_attempt_at + timedelta(minutes=1)
        assert failed.requeue_at > failed.next_attempt_at
        receiver.answer(204)
        clock.move_to(failed.next_attempt_at + timedelta(seconds=1))
        retried = webhook_delivery_send(delivery_id=delivery.pk, attempts=1)
        assert retried.state == WebhookDelivery.State.SUCCEEDED and retried.requeue_at is None
        clock.shift(timedelta(minutes=5))
        again = webhook_delivery_send_again(delivery_id=delivery.pk)
        assert (again.state, again.attempts) == (WebhookDelivery.State.PENDING, 2)
        last = webhook_delivery_send(delivery_id=delivery.pk, attempts=2)
        assert last.state == WebhookDelivery.State.SUCCEEDED

    ids = {request.header("X-Loyalty-Event-Id") for request in receiver.requests}
    assert ids == {str(delivery.event_id)} and len(receiver.requests) == 3
    assert len({request.body for request in receiver.requests}) == 1
    stamps = [request.header("X-Loyalty-Signature").split(",")[0] for request in receiver.requests]
    assert len(set(stamps)) == 3, "each attempt is signed when it is made"
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 3


def test_a_500_is_retried_with_backoff_for_a_day_then_the_endpoint_is_switched_off_and_the_brand_told(
    in_a, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver.url)
    delivery = _delivery(endpoint)
    waiting = _delivery(endpoint)  # another delivery, never attempted, given up with the endpoint
    receiver.answer(500)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    times = []
    with time_machine.travel(start, tick=False) as clock:
        attempts = 0
        while True:
            with django_capture_on_commit_callbacks(execute=True):
                row = webhook_delivery_send(delivery_id=delivery.pk, attempts=attempts)
            attempts = row.attempts
            times.append(row.last_attempt_at)
            if row.state != WebhookDelivery.State.FAILED:
                break
            clock.move_to(row.next_attempt_at)

    gaps = [round((later - earlier).total_seconds() / 60) for earlier, later in itertools.pairwise(times)]
    assert gaps[:8] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert max(gaps) == 60 and times[-1] == start + timedelta(hours=24)
    assert row.state == WebhookDelivery.State.GIVEN_UP
    assert row.attempts == len(times) == len(receiver.requests)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at == start + timedelta(hours=24)
    assert endpoint.failing_since == start and "24 hours" in endpoint.disabled_reason
    waiting.refresh_from_db()
    assert waiting.state == WebhookDelivery.State.GIVEN_UP and waiting.requeue_at is None
    (mail,) = mailoutbox
    assert mail.to == [f"admin@{in_a.slug}.example"]
    assert "switched off" in mail.subject and endpoint.url in mail.body
    assert f"/backoffice/messaging/webhookendpoint/{endpoint.pk}/change/" in mail.body
    # Switched off: no more deliveries for it, and "send again" waits until it is switched on.
    webhook_event_emit(type="subscription.changed", data={})
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2
    with pytest.raises(Refused) as refused:
        webhook_delivery_send_again(delivery_id=delivery.pk)
    assert refused.value.code == "endpoint_switched_off"


def test_a_success_clears_the_endpoints_failure(in_a, receiver):
    endpoint = _endpoint(receiver.url)
    receiver.answer(503)
    webhook_delivery_send(delivery_id=_delivery(endpoint).pk, attempts=0)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    receiver.answer(200)
    webhook_delivery_send(delivery_id=_delivery(endpoint).pk, attempts=0)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.is_active


def test_a_redirect_is_not_followed(in_a, receiver):
    endpoint = _endpoint(receiver.url)
    receiver.answer(302, headers={"Location": f"http://127.0.0.1:{receiver.port}/elsewhere"})
    row = webhook_delivery_send(delivery_id=_delivery(endpoint).pk, attempts=0)
    assert [request.path for request in receiver.requests] == ["/hooks/loyalty"]
    assert row.state == WebhookDelivery.State.FAILED and row.last_response_status == 302
    assert "not followed" in row.last_error


def test_a_receiver_that_hangs_is_cut_short(in_a, receiver, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    endpoint = _endpoint(receiver.url)
    receiver.hang(10)
    started = time.monotonic()
    row = webhook_delivery_send(delivery_id=_delivery(endpoint).pk, attempts=0)
    assert time.monotonic() - started < 3
    assert row.state == WebhookDelivery.State.FAILED and row.last_response_status is None
    assert "Timeout" in row.last_error
    (attempt,) = row.attempt_log.all()
    assert attempt.status_code is None and attempt.duration_ms >= 400


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.1.20:8443/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://[::ffff:10.0.0.1]/hook", "private"),
        ("https://[fd00:ec2::254]/hook", "metadata"),
        ("https://100.100.100.200/hook", "metadata"),
        ("https://100.64.0.1/hook", "public"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://240.0.0.1/hook", "reserved"),
    ],
)
def test_addresses_that_are_not_public_are_refused(in_a, settings, url, kind):
    settings.WEBHOOKS_DEVELOPMENT = False
    with pytest.raises(InvalidInput) as refused:
        _endpoint(url)
    assert list(refused.value.errors) == ["url"]
    assert kind in refused.value.errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_http_and_urls_with_credentials_are_refused_outside_development(in_a, settings):
    settings.WEBHOOKS_DEVELOPMENT = False
    for url, words in [
        ("http://hooks.example.com/x", "https://"),
        ("https://user:pw@hooks.example.com/x", "user name"),
        ("ftp://hooks.example.com/x", "https://"),
        ("https:///x", "host"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            _endpoint(url)
        assert words in refused.value.errors["url"][0], url


def test_a_host_name_resolving_to_the_loopback_is_refused(in_a, settings, monkeypatch):
    settings.WEBHOOKS_DEVELOPMENT = False
    _resolving(monkeypatch, {"hooks.brand.example": ["127.0.0.1"]})
    with pytest.raises(InvalidInput) as refused:
        _endpoint("https://hooks.brand.example/loyalty")
    assert "127.0.0.1" in refused.value.errors["url"][0]


def test_dns_changed_to_a_private_address_after_saving_is_refused_at_delivery(
    in_a, settings, monkeypatch, receiver
):
    settings.WEBHOOKS_DEVELOPMENT = False
    _resolving(monkeypatch, {"hooks.brand.example": ["93.184.216.34", "127.0.0.1"]})
    endpoint = _endpoint("https://hooks.brand.example/loyalty")  # public when saved
    row = webhook_delivery_send(delivery_id=_delivery(endpoint).pk, attempts=0)
    assert row.state == WebhookDelivery.State.FAILED and row.last_response_status is None
    assert "127.0.0.1 (loopback)" in row.last_error
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_checked_with_the_host_name_in_the_header(
    in_a, monkeypatch, receiver
):
    """Pinned: the name is resolved once per attempt; a second answer (rebinding) is never used."""
    asked = _resolving(monkeypatch, {"receiver.brand.example": ["127.0.0.1", "10.255.255.1"]})
    endpoint = _endpoint(f"http://receiver.brand.example:{receiver.port}/hooks/loyalty?source=loyalty")
    asked.clear()
    row = webhook_delivery_send(delivery_id=_delivery(endpoint).pk, attempts=0)
    assert row.state == WebhookDelivery.State.SUCCEEDED
    assert asked == ["receiver.brand.example"]
    (request,) = receiver.requests
    assert request.header("Host") == f"receiver.brand.example:{receiver.port}"
    assert request.path == "/hooks/loyalty?source=loyalty"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A certificate authority of the test's own, and a certificate it signed for
    receiver.brand.example (openssl's command line: the PEM files a receiver would have)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA")
    run("req", *key, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=receiver.brand.example")
    (folder / "san.cnf").write_text("subjectAltName=DNS:receiver.brand.example\n")
    run(
        "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "leaf.pem", "-days", "2", "-extfile", "san.cnf",
    )  # fmt: skip
    return folder


def test_over_tls_the_pinned_connection_names_the_host_and_checks_its_certificate(
    in_a, settings, monkeypatch, tls_files
):
    """Connected to the checked address, TLS still asks for the host name (SNI) and checks the
    certificate against it, not against the address: a name the certificate lacks fails."""
    settings.WEBHOOKS_CA_BUNDLE = str(tls_files / "ca.pem")
    _resolving(monkeypatch, {"receiver.brand.example": ["127.0.0.1"], "other.brand.example": ["127.0.0.1"]})
    certificate = (str(tls_files / "leaf.pem"), str(tls_files / "leaf.key"))
    with webhook_receiver(certificate=certificate) as receiver:
        good = _endpoint(f"https://receiver.brand.example:{receiver.port}/hooks/loyalty")
        row = webhook_delivery_send(delivery_id=_delivery(good).pk, attempts=0)
        assert row.state == WebhookDelivery.State.SUCCEEDED, row.last_error
        assert receiver.server_names == ["receiver.brand.example"]
        assert receiver.requests[0].header("Host") == f"receiver.brand.example:{receiver.port}"

        webhook_endpoint_update(endpoint=good, data={"is_active": False})
        wrong = _endpoint(f"https://other.brand.example:{receiver.port}/hooks/loyalty")
        row = webhook_delivery_send(delivery_id=_delivery(wrong).pk, attempts=0)
        assert row.state == WebhookDelivery.State.FAILED and "SSLError" in row.last_error
        assert "other.brand.example" in row.last_error and len(receiver.requests) == 1


def test_the_brand_is_told_in_its_programmes_language(
    in_a, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    ProgrammeSettings.objects.filter(pk=1).update(default_language="fr")
    endpoint = _endpoint(receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(hours=25))
    receiver.answer(503)
    with django_capture_on_commit_callbacks(execute=True):
        row = webhook_delivery_send(delivery_id=_delivery(endpoint).pk, attempts=0)
    assert row.state == WebhookDelivery.State.GIVEN_UP
    (mail,) = mailoutbox
    assert mail.subject == f"{in_a.name} : un point de réception de webhooks a été désactivé"
    assert "aucun envoi réussi depuis 24 heures" in mail.body and receiver.url in mail.body


def test_an_international_host_name_is_asked_and_sent_in_its_ascii_form(in_a, monkeypatch, receiver):
    asked = _resolving(monkeypatch, {"xn--bcher-kva.example": ["127.0.0.1"]})
    endpoint = _endpoint(f"http://bücher.example:{receiver.port}/hooks")
    row = webhook_delivery_send(delivery_id=_delivery(endpoint).pk, attempts=0)
    assert row.state == WebhookDelivery.State.SUCCEEDED and set(asked) == {"xn--bcher-kva.example"}
    assert receiver.requests[0].header("Host") == f"xn--bcher-kva.example:{receiver.port}"
