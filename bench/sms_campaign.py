#!/usr/bin/env python3
"""Issue 14: an SMS campaign to 100,000 members. Goals: every message queued (rows written, send
tasks in the broker) in under 60 s; then sent to the local fake Twilio at 200 messages/s or more.

A brand of its own in the bench database is seeded once with set-based SQL and kept for the next
runs: members with a phone and an SMS yes, a segment of them ("SMS yes"), a marketing SMS template,
and a Twilio account (the fake's credentials, 1,000 sends/s allowed, sending hours open at every
hour so the figure does not depend on when it runs). Each run starts from no campaign and no
message (the previous run's are deleted first).

1. Queuing, timed: the campaign is created "now" (its run starts, the segment counted) and its run
   is processed here, in this process, by the function the run's Celery task calls
   (`campaign_run_process`): 2,000 members per transaction, messages built by `message_build`,
   written by COPY, their send tasks (100 messages each) published after each commit to a queue
   of this bench only (no worker consumes it yet).
2. Sending, timed: Celery workers are started on that queue (`WORKERS` processes, prefork pool) with
   the fake Twilio of `tests/fakes/twilio.py` as `TWILIO_API_BASE`; the rate is the messages the fake
   answered 201 divided by the seconds from the first to the last, checked against the rows then
   `sent` in the database.

    python bench/sms_campaign.py [members] [workers] [seconds]   # 100,000 members, 3 workers, 1800 s
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from _setup import ROOT, bench_database_url, django_setup, seeded_brand

MEMBERS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
WORKERS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
SLUG = f"bench-sms-{MEMBERS}"
SEEDED = "seeded"  # the programme name once the seed is complete
ACCOUNT_SID, AUTH_TOKEN = "AC" + "b" * 32, "bench-token-0123456789abcdef"
QUEUE = f"bench-sms-{os.getpid()}"
# Seconds the sending may take before the bench stops it (the rate is then of the messages sent).
SEND_SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 1800.0

SEED = [
    """
INSERT INTO loyalty_member (
    id, external_id, kind, company_name, siret, first_name, last_name, email, phone, address_line1,
    address_line2, postal_code, city, country, language, tags, is_vip, balance, overdraft_limit,
    points_owed, status, joined_at, created_at, updated_at)
SELECT g, 'S' || g, 'customer', '', '', 'Prénom' || g, 'Nom' || g, '', '+336' || lpad(g::text, 8, '0'),
       '', '', '', '', 'FR', 'fr', '{}', false, (g * 37) %% 5000, 0, 0, 'active',
       now() - interval '1 year', now(), now()
FROM generate_series(1, %(members)s) g
""",
    """
INSERT INTO loyalty_consent (member_id, channel, granted, changed_at, source)
SELECT g, 'sms', true, now() - interval '1 year', 'bench' FROM generate_series(1, %(members)s) g
""",
    "SELECT setval(pg_get_serial_sequence('loyalty_member', 'id'), %(members)s)",
]
TEMPLATE = "{{ first_name }}, -20 % sur tout cette semaine avec vos {{ balance }} points. STOP au 36111"


def _seed() -> None:
    from django.db import connection

    from loyalty.models import ProgrammeSettings, Segment
    from messaging.models import ChannelSettings, MessageTemplate
    from messaging.quiet_hours import WEEKDAYS

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in SEED:
            cursor.execute(statement, {"members": MEMBERS})
        for table in ("member", "consent"):
            cursor.execute(f"VACUUM ANALYZE loyalty_{table}")
    Segment.objects.create(name="SMS yes", filters={"consents": {"sms": True}})
    MessageTemplate.objects.create(
        code="weekly-offer",
        name="Weekly offer",
        channel="sms",
        language="fr",
        purpose="marketing",
        body=TEMPLATE,
    )
    always = {
        "windows": [{"days": list(WEEKDAYS), "start": "00:00", "end": "24:00"}],
        "public_holidays": True,
    }
    ChannelSettings.objects.update_or_create(
        id=1,
        defaults={
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "sms_sender": "BenchClub",
            "sends_per_second": 1000,
            "quiet_hours": {"sms": always},
        },
    )
    ProgrammeSettings.objects.update(programme_name=SEEDED)
    print(f"seeded {MEMBERS:,} members with a phone and an SMS yes: {time.perf_counter() - started:.0f} s")


def _brand():
    return seeded_brand(slug=SLUG, name="Bench SMS", seed=_seed, seeded=SEEDED)


def _workers(base_url: str) -> subprocess.Popen:
    """`WORKERS` Celery worker processes (prefork) on the bench's queue, sending to the fake."""
    code = (
        "import django, os; django.setup(); from config.celery import app; "
        f"app.conf.task_default_queue = {QUEUE!r}; "
        f"app.worker_main(['worker', '-P', 'prefork', '-c', '{WORKERS}', '-Q', {QUEUE!r}, "
        "'--loglevel=WARNING', '--without-gossip', '--without-mingle', '--without-heartbeat'])"
    )
    env = {
        **os.environ,
        "DATABASE_URL": bench_database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TWILIO_API_BASE": base_url,
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, start_new_session=True)


def main() -> None:
    django_setup()
    sys.path.insert(0, str(ROOT))
    from django.db import connection

    from config.celery import app
    from config.redis import cache_redis
    from loyalty.models import Segment
    from messaging.models import CampaignRun, Message
    from messaging.services.campaigns import (
        SEND_BATCH,
        campaign_cancel,
        campaign_create,
        campaign_run_process,
    )
    from tests.fakes.twilio import FakeTwilio

    app.conf.task_default_queue = QUEUE
    brand = _brand()
    broker = cache_redis()  # the broker is the same Redis (REDIS_URL)
    # As a Celery task runs: in the brand's schema, the brand on the connection (its timezone read from it).
    connection.set_tenant(brand)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE messaging_message, messaging_campaignrun, messaging_campaign CASCADE")
    segment = Segment.objects.get(name="SMS yes")

    started = time.perf_counter()
    campaign = campaign_create(
        data={
            "name": "Weekly offer",
            "segment": segment,
            "channel": "sms",
            "template_code": "weekly-offer",
        }
    )
    run = CampaignRun.objects.get(campaign=campaign)
    campaign_run_process(run_id=run.pk)
    queue_seconds = time.perf_counter() - started
    rows = Message.objects.filter(campaign_run=run).count()
    in_broker = broker.llen(QUEUE)
    # The broker holds the send tasks (SEND_BATCH messages each), and the run's own task (which
    # finds the run done).
    tasks = in_broker - 1
    verdict = (
        "met" if queue_seconds < 60 and rows == MEMBERS and tasks == -(-rows // SEND_BATCH) else "NOT met"
    )
    print(
        f"queued {rows:,} messages of {run.recipients:,} members "
        f"({tasks:,} send tasks of {SEND_BATCH} in the broker), "
        f"in this process with campaign_run_process: {queue_seconds:.1f} s, "
        f"{rows / queue_seconds:,.0f} messages/s [goal < 60 s: {verdict}] "
        f"(load average {os.getloadavg()[0]:.1f})"
    )

    with FakeTwilio(accounts={ACCOUNT_SID: AUTH_TOKEN}) as fake:
        workers = _workers(fake.base_url)
        try:
            deadline = time.monotonic() + SEND_SECONDS
            while len(fake.requests) < rows and time.monotonic() < deadline and workers.poll() is None:
                time.sleep(0.5)
        finally:
            workers.terminate()  # a warm shutdown: the batches begun are finished
            try:
                workers.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(workers.pid, signal.SIGKILL)
                workers.wait()
        answered = [request.at for request in fake.requests if request.status == 201]
    sent = Message.objects.filter(campaign_run=run, state=Message.State.SENT).count()
    broker.delete(QUEUE)
    campaign_cancel(campaign_id=campaign.pk)  # what was not sent is never sent later (by a sweeper)
    seconds = max(answered) - min(answered) if len(answered) > 1 else float("nan")
    rate = len(answered) / seconds if seconds else float("nan")
    verdict = "met" if rate >= 200 and sent == rows else "NOT met"
    if len(answered) < rows:
        print(f"stopped after {SEND_SECONDS:.0f} s: {rows - len(answered):,} messages not sent")
    print(
        f"sent {len(answered):,} SMS to the fake Twilio ({sent:,} rows 'sent', "
        f"{len(fake.requests) - len(answered)} requests refused) with {WORKERS} Celery worker processes: "
        f"{seconds:.1f} s, {rate:,.0f} messages/s [goal >= 200/s: {verdict}] "
        f"(load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
