"""The statements of a send's claim and settle steps (`messaging.services.sending`), in SQL.

A campaign sends 200 messages a second or more (README, Figures: `bench/sms_campaign.py`), and the
ORM's building of these statements was a large part of a send's cost: measured in one process over
1,000 sends to the local fake Twilio (its server in another process), a send cost 6.9 ms of CPU
with the ORM's claim (a joined `SELECT ... FOR UPDATE`, then `save`) and settle (`SELECT ... FOR
UPDATE`, then `save`), 5.0 ms with these statements. Only the paths every send takes are here: the
rare ones (a skip, a wait, a failure, a callback that came first) stay in the ORM.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from loyalty.models import Consent, Member
from messaging.models import Campaign, Message

_FIELDS = [field.attname for field in Message._meta.concrete_fields]
_MESSAGE = Message._meta.db_table

# The message's columns, its member's standing, its campaign's state and the member's consent on
# its channel, in one statement, the message's row locked (another copy of the task skips it).
_CLAIM = f"""
SELECT {", ".join(f'm."{field.column}"' for field in Message._meta.concrete_fields)},
       member."status", campaign."state",
       (SELECT consent."granted" FROM "{Consent._meta.db_table}" consent
         WHERE consent."member_id" = m."member_id" AND consent."channel" = m."channel")
  FROM "{_MESSAGE}" m
  JOIN "{Member._meta.db_table}" member ON member."id" = m."member_id"
  LEFT JOIN "{Campaign._meta.db_table}" campaign ON campaign."id" = m."campaign_id"
 WHERE m."id" = %s
   FOR UPDATE OF m SKIP LOCKED
"""  # noqa: S608 (table and column names only)

_SENDING = f"""
UPDATE "{_MESSAGE}" SET "state" = 'sending', "sending_at" = %s, "requeue_at" = NULL,
       "attempts" = "attempts" + 1, "updated_at" = %s
 WHERE "id" = %s
"""  # noqa: S608 (table and column names only)

# The provider's id is kept if a callback that came first stored it.
_SENT = f"""
UPDATE "{_MESSAGE}" SET "provider" = %s,
       "provider_id" = CASE WHEN "provider_id" = '' THEN %s ELSE "provider_id" END,
       "state" = %s, "sent_at" = %s, "delivered_at" = CASE WHEN %s THEN %s ELSE "delivered_at" END,
       "error" = '', "updated_at" = %s
 WHERE "id" = %s AND "state" IN ('sending', 'unknown')
RETURNING "provider_id"
"""  # noqa: S608 (table and column names only)


def message_claim_read(*, message_id: int) -> tuple[Message, bool | None] | None:
    """The message locked, with its member (only its standing read) and campaign (only its state),
    and the member's consent on its channel (None: never asked); None when another transaction
    holds it or there is no such message."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [message_id])
        row = cursor.fetchone()
    if row is None:
        return None
    count = len(_FIELDS)
    message = Message.from_db(connection.alias, _FIELDS, row[:count])
    member_status, campaign_state, granted = row[count:]
    message.member = Member.from_db(connection.alias, ["id", "status"], [message.member_id, member_status])
    if message.campaign_id is not None:
        message.campaign = Campaign.from_db(
            connection.alias, ["id", "state"], [message.campaign_id, campaign_state]
        )
    return message, granted


def message_mark_sending(*, message: Message, now: datetime) -> None:
    """The claimed message (its row locked) moved to `sending`, in the database and in `message`."""
    with connection.cursor() as cursor:
        cursor.execute(_SENDING, [now, now, message.pk])
    message.state, message.sending_at, message.requeue_at = Message.State.SENDING, now, None
    message.attempts += 1
    message.updated_at = now


def message_mark_sent(
    *, message: Message, provider: str, provider_id: str, state: str, now: datetime
) -> bool:
    """The provider took the message: `state` (sent, or delivered) stored if the message is still
    `sending` or `unknown`, and in `message`; False when a callback settled it first."""
    delivered = state == Message.State.DELIVERED
    with connection.cursor() as cursor:
        cursor.execute(_SENT, [provider, provider_id, state, now, delivered, now, now, message.pk])
        row = cursor.fetchone()
    if row is None:
        return False
    message.provider, message.provider_id, message.state = provider, row[0], state
    message.sent_at, message.error, message.updated_at = now, "", now
    if delivered:
        message.delivered_at = now
    return True
