"""The launch mailings' tasks (`messaging.letters.services`): one per batch, which queues one per
chunk left; the Celery workers render the chunks in parallel and the last one joins them."""

from __future__ import annotations

import logging

from celery import shared_task

from core.errors import DomainError
from core.outbox import outbox_register, task_send
from messaging.letters.services import (
    letter_batch_assemble,
    letter_batch_fail,
    letter_batch_requeue,
    letter_chunk_render,
    letter_chunks_pending,
)
from messaging.models import LetterBatch
from tenants.selectors import schema_current

logger = logging.getLogger(__name__)


@shared_task(name="messaging.letter_batch_render")
def letter_batch_render_task(batch_id: int, attempts: int) -> int:
    """Queue the rendering of the batch's chunks not rendered yet (again after a crash: a chunk
    rendered is never rendered twice), or join them when none is left. How many were queued."""
    batch = letter_batch_requeue(batch_id=batch_id)
    if batch is None:
        return 0
    pending = letter_chunks_pending(batch_id=batch_id)
    if not pending:
        letter_batch_assemble(batch_id=batch_id)
        return 0
    for chunk in pending:
        task_send(task=letter_chunk_render_task, schema_name=schema_current(), args=(batch_id, chunk))
    return len(pending)


@shared_task(name="messaging.letter_chunk_render")
def letter_chunk_render_task(batch_id: int, chunk: int) -> int:
    """Render one chunk; the last chunk rendered joins the batch's PDF."""
    try:
        rendered = letter_chunk_render(batch_id=batch_id, chunk=chunk)
    except DomainError as error:  # the template deleted or refused since the batch was made
        logger.warning("letter batch %s, chunk %s: %s", batch_id, chunk, error)
        letter_batch_fail(batch_id=batch_id, error=str(error))
        return 0
    if not letter_chunks_pending(batch_id=batch_id):
        letter_batch_assemble(batch_id=batch_id)
    return rendered


outbox_register(model=LetterBatch, task=letter_batch_render_task)
