#!/usr/bin/env python3
"""Issue 14: a launch mailing of 10,000 letters rendered to print files (goal: under 5 minutes,
using both cores), beside the raw WeasyPrint time of the same single letter in one process.

A brand of its own in the bench database is seeded once (set-based SQL) with the resellers, each
with an address and a postcode, and the post template `launch_letter`. Each run creates a batch
through `letter_batch_create` (one new activation code per member, the QR code on each letter) and
times it until the batch is `ready` (its PDF joined, its manifest written): rendered by a Celery
worker of 2 processes, as `make run` starts it, on a queue of this run only. The previous run's
batch and files are deleted first.

    python bench/letters.py [letters]      # default 10,000
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from _setup import ROOT, bench_database_url, django_setup, median, seeded_brand

LETTERS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
SLUG = f"bench-letters-{LETTERS}"
SEEDED = "Tabac Pro"  # the programme name once the seed is complete
QUEUE = f"bench-letters-{os.getpid()}"
BODY = """Madame, Monsieur,

Nous avons le plaisir de vous accueillir dans le programme {{ programme_name }}. Chaque vente vous
rapporte des points, que vous échangez contre les cadeaux du catalogue.

Pour activer votre compte professionnel, rendez-vous sur {{ activation_url }} avec le code
ci-dessous et le code postal de votre point de vente.

Bien cordialement,
L'équipe {{ programme_name }}"""
SEED = """
INSERT INTO loyalty_member (
    external_id, kind, company_name, siret, first_name, last_name, email, phone, address_line1,
    address_line2, postal_code, city, country, language, tags, is_vip, balance, overdraft_limit,
    points_owed, status, joined_at, created_at, updated_at)
SELECT 'R' || g, 'reseller', 'Tabac Presse ' || g, '', 'Camille', 'Martin' || g, '', '',
       (g %% 180 + 1) || ' avenue du Général de Gaulle', CASE WHEN g %% 3 = 0 THEN 'Bâtiment B' ELSE '' END,
       lpad(((g * 37) %% 95000 + 1000)::text, 5, '0'), 'Saint-Martin-de-Ré', 'FR', 'fr', '{}', false,
       0, 0, 0, 'active', now(), now(), now()
FROM generate_series(1, %(letters)s) g
"""
WORKER = (
    "import sys; from config.celery import app; app.conf.task_default_queue = sys.argv[1]; "
    "app.worker_main(['worker', '--concurrency', '2', '--pool', 'prefork', '-Q', sys.argv[1], "
    "'--loglevel', 'WARNING', '--without-heartbeat', '--without-gossip', '--without-mingle'])"
)


def _seed() -> None:
    from django.db import connection

    from loyalty.models import ProgrammeSettings
    from messaging.models import MessageTemplate

    with connection.cursor() as cursor:
        cursor.execute(SEED, {"letters": LETTERS})
        cursor.execute("VACUUM ANALYZE loyalty_member")
    MessageTemplate.objects.create(
        code="launch_letter",
        name="Launch letter",
        channel="post",
        language="fr",
        purpose="service",
        body=BODY,
    )
    ProgrammeSettings.objects.update(programme_name=SEEDED, default_language="fr")


def _worker() -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": bench_database_url(), "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-c", WORKER, QUEUE], cwd=ROOT, env=env, start_new_session=True)


def _single_letter_seconds() -> float:
    """The raw WeasyPrint time of one letter of the batch, alone, in this process (median of 5)."""
    from messaging.letters.render import (
        LetterContent,
        letter_body_html,
        letters_html,
        letters_pdf,
        qr_data_uri,
    )
    from messaging.letters.services import letterhead_get

    letterhead = letterhead_get()
    letter = LetterContent(
        anchor="letter-0",
        address=[
            "Tabac Presse 1",
            "Camille Martin1",
            "2 AV DU GENERAL DE GAULLE",
            "01037 SAINT-MARTIN-DE-RE",
        ],
        date="1 décembre 2026",
        body=letter_body_html(BODY.replace("{{ programme_name }}", SEEDED)),
        code="K7QM-2XPD-9R",
        code_expires="1 mars 2027",
        qr=qr_data_uri(f"{letterhead.site_url}activate/"),
        activation_url=f"{letterhead.site_url}activate/",
        language="fr",
    )
    html = letters_html(letterhead=letterhead, letters=[letter])
    letters_pdf(html=html, anchors=["letter-0"])  # warm: fonts and styles loaded once per process
    times = []
    for _ in range(5):
        started = time.perf_counter()
        letters_pdf(html=html, anchors=["letter-0"])
        times.append(time.perf_counter() - started)
    return median(times)


def main() -> None:
    django_setup()
    import logging

    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    from django_tenants.utils import schema_context

    from config.celery import app
    from messaging.letters.services import letter_batch_create
    from messaging.models import LetterBatch

    app.conf.task_default_queue = QUEUE
    brand = seeded_brand(slug=SLUG, name="Bench letters", seed=_seed, seeded=SEEDED)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a timeout still stops the worker
    worker = _worker()
    try:
        with schema_context(brand.schema_name):
            for old in LetterBatch.objects.all():
                for stored in (old.pdf, old.manifest):
                    if stored:
                        stored.delete(save=False)
                old.letters.all().delete()
                old.delete()
            single = _single_letter_seconds()
            external_ids = [f"R{number}" for number in range(1, LETTERS + 1)]
            started = time.perf_counter()
            batch = letter_batch_create(template="launch_letter", external_ids=external_ids)
            created = time.perf_counter() - started
            while batch.state == LetterBatch.State.RENDERING:
                time.sleep(0.5)
                batch.refresh_from_db()
            seconds = time.perf_counter() - started
            size = batch.pdf.size if batch.pdf else 0
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        with app.connection_for_write() as broker:
            broker.default_channel.queue_delete(QUEUE)  # the tasks a stopped run left

    print(f"one letter alone, raw WeasyPrint in one process: {single * 1000:.0f} ms")
    print(f"batch created ({LETTERS:,} letters, the task queued): {created:.1f} s")
    verdict = "met" if seconds < 300 and batch.state == LetterBatch.State.READY else "NOT met"
    rate = batch.letters_rendered / seconds
    print(
        f"{batch.letters_rendered:,} letters rendered to one PDF of {batch.pages:,} pages "
        f"({size / 1e6:.0f} MB) and a manifest, state {batch.state}: {seconds:.1f} s, {rate:.0f} letters/s "
        f"[goal < 300 s: {verdict}]"
    )
    print(
        f"the same letters one by one at the raw single-letter time would take {LETTERS * single:.0f} s "
        "in one process"
    )


if __name__ == "__main__":
    main()
