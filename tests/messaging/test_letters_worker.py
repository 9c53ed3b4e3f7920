"""A launch mailing rendered by the real Celery worker: the batch's task queues its chunks, the
workers render them, the last one joins the PDF."""

from __future__ import annotations

import time

from django.db import connection

from messaging.letters.services import letter_batch_create
from messaging.models import LetterBatch
from tests.factories import member_make, template_make


def test_the_batch_renders_through_the_celery_workers(fresh_brand, celery_worker, monkeypatch):
    monkeypatch.setattr("messaging.letters.services.CHUNK_SIZE", 1)
    connection.set_tenant(fresh_brand)
    template_make("launch_letter", channel="post", body="Hello {{ name }}", purpose="service")
    for number in range(3):
        member_make(
            f"R-{number}",
            company_name=f"Tabac {number}",
            address_line1="1 rue de la Paix",
            postal_code="75002",
            city="Paris",
        )
    batch = letter_batch_create(template="launch_letter", external_ids=["R-0", "R-1", "R-2"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.state == LetterBatch.State.READY:
            break
        time.sleep(0.05)
    assert batch.state == LetterBatch.State.READY, batch.error
    assert (batch.pages, batch.letters_rendered, batch.requeue_at) == (3, 3, None)
    assert sorted(batch.letters.values_list("first_page", flat=True)) == [1, 2, 3]
