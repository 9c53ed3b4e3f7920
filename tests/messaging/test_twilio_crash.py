"""Sends that must survive the workers: a worker really killed (SIGKILL) between Twilio's taking a
call and our writing it down leaves the message `sending`, the expiry marks it `unknown`, it is
never sent again (the fake Twilio saw one request), and Twilio's late signed callback, over HTTP to
the brand's host, settles it; a call retried hours later waits as a row that the outbox sweeper
hands to a real worker when it is due.

The killed worker is a Python process of its own running `message_send` on the test database; the
fake reads its request and never answers, so the process is stuck right after the provider call
when it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from core.outbox import outbox_sweep
from loyalty.services.members import consent_set
from messaging.models import Message
from messaging.services.sending import SENDING_TIMEOUT, message_build, message_send, messages_sending_expire
from tenants.models import Brand
from tenants.routing import routing_token_renew
from tests.factories import member_make, template_make
from tests.messaging.conftest import zone_at

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys
import time

import django

django.setup()
from django.db import connection

from messaging.services.sending import message_send
from tenants.models import Brand

connection.set_tenant(Brand.objects.get(schema_name=sys.argv[1]))
print("sending", flush=True)
message_send(message_id=int(sys.argv[2]), attempts=0)
print("settled", flush=True)
"""


def _worker_env(fake) -> dict[str, str]:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    if database.get("PASSWORD"):
        url = url.replace("@", f":{database['PASSWORD']}@", 1)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": url,
        "TWILIO_API_BASE": fake.base_url,
        "TWILIO_READ_TIMEOUT": "300",
    }


def _call_of(brand, fake, twilio_account) -> Message:
    """A call to a member of `brand` (committed, not queued), the brand on the fake's account at an
    hour calls ring at; the test's connection on the brand."""
    Brand.objects.filter(pk=brand.pk).update(timezone=zone_at(10))
    brand.refresh_from_db()
    routing_token_renew()
    connection.set_tenant(brand)
    twilio_account(fake)
    member = member_make(first_name="Camille", phone="+33612345678", language="fr")
    consent_set(member=member, consents={"voice": True}, source="test")
    template_make("expiry", channel="voice", language="fr", body="Vos points expirent", purpose="service")
    message = message_build(member=member, channel="voice", template_code="expiry")
    message.save()
    return message


def test_a_worker_killed_after_the_call_left_ends_unknown_is_not_resent_and_the_callback_settles_it(
    fresh_brand, fake_twilio, twilio_account, site_server
):
    message = _call_of(fresh_brand, fake_twilio, twilio_account)  # the worker below sends it

    fake_twilio.fail_next("hang")
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, fresh_brand.schema_name, str(message.pk)],
        cwd=ROOT,
        env=_worker_env(fake_twilio),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        [request] = fake_twilio.wait_for(1, timeout=120)
        assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    output = worker.stdout.read() if worker.stdout else ""
    assert "sending" in output and "settled" not in output, output

    message.refresh_from_db()
    assert (message.state, message.attempts, message.provider_id) == ("sending", 1, "")
    assert request.kind == "Calls" and request.get("StatusCallback").endswith(f"?m={message.pk}")

    # The beat's expiry marks it unknown once SENDING_TIMEOUT has passed; no task sends it again.
    assert messages_sending_expire(now=timezone.now() + SENDING_TIMEOUT + timedelta(seconds=5)) == 1
    message.refresh_from_db()
    assert message.state == "unknown"
    assert message_send(message_id=message.pk, attempts=0) is None
    assert message_send(message_id=message.pk, attempts=1) is None
    assert len(fake_twilio.requests) == 1

    # Twilio's late word, signed, over HTTP to the brand's host, settles it; an older one after
    # it changes nothing.
    connect_to = f"127.0.0.1:{site_server}"
    assert fake_twilio.send_callback(request.sid, "completed", connect_to=connect_to) == 204
    assert fake_twilio.send_callback(request.sid, "ringing", connect_to=connect_to) == 204
    message.refresh_from_db()
    assert (message.state, message.provider_id, message.provider_status) == (
        "delivered",
        request.sid,
        "completed",
    )
    assert len(fake_twilio.requests) == 1
    assert Message.objects.count() == 1


def test_a_call_retried_later_waits_in_the_outbox_and_the_sweeper_sends_it_when_due(
    fresh_brand, fake_twilio, twilio_account, twilio_post, celery_worker
):
    message = _call_of(fresh_brand, fake_twilio, twilio_account)
    message_send(message_id=message.pk, attempts=0)
    message.refresh_from_db()
    for status in ("initiated", "ringing", "no-answer"):
        assert twilio_post(fake_twilio.callback(message.provider_id, status)).status_code == 204
    retry = Message.objects.get(retry_of=message)
    assert retry.state == "queued" and retry.requeue_at == retry.not_before > timezone.now()
    # Nothing is queued for it meanwhile: the row is the wait (a restart loses nothing).
    assert outbox_sweep().queued == 0
    assert len(fake_twilio.requests) == 1

    # Hours later (the row moved back in time), the sweep hands it to the worker, which calls.
    due = timezone.now() - timedelta(seconds=1)
    Message.objects.filter(pk=retry.pk).update(not_before=due, requeue_at=due)
    assert outbox_sweep().queued == 1
    requests = fake_twilio.wait_for(2, timeout=60)
    assert requests[1].kind == "Calls" and requests[1].get("StatusCallback").endswith(f"?m={retry.pk}")
    deadline = time.monotonic() + 30
    while retry.state != "sent" and time.monotonic() < deadline:
        time.sleep(0.1)
        retry.refresh_from_db()
    assert (retry.state, retry.provider_id) == ("sent", requests[1].sid)
