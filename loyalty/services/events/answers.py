"""Stage 7, the answers: what an event's sender gets back (stored with the event, replayed on
retries), or the error of an event of a batch that was not recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import Conflict, DomainError

if TYPE_CHECKING:
    from loyalty.engine import Award, Evaluation
    from loyalty.models import ActivityEvent, Member
    from loyalty.services.events.checks import EventInput
    from loyalty.services.events.programme import Programme


# The code of every event the programme refuses (`Refused`): what the API has always answered.
REFUSED = "unprocessable"


class NotRecorded(DomainError):
    """A batch's event in a chunk the database refused, after its retries: send it again."""

    code = "not_recorded"


def error_answer(key: str, error: DomainError) -> dict:
    """A batch item's answer when nothing of it was written: the error, which the API renders."""
    return {"id": key, "error": error}


def replay(stored: ActivityEvent, data: EventInput, attributes: dict) -> dict:
    """The answer stored with the event under the same key, if it is the same event."""
    same = (
        stored.result.get("member") == data.member
        and stored.type == data.type
        and stored.occurred_at == data.occurred_at
        and stored.attributes == attributes
    )
    if not same:
        raise Conflict("was already used for a different event", field="idempotency_key")
    return {**stored.result, "replayed": True}


def award_out(award: Any) -> dict:
    return {
        "beneficiary": {"kind": award.beneficiary.kind, "member": award.beneficiary.external_id},
        "points": award.points,
        "rule": {"id": award.rule.pk, "name": award.rule.name},
        "explanation": award.explanation,
    }


def result(data: EventInput, programme: Programme, awards: list[dict], balance: int, **extra: Any) -> dict:
    return {
        "id": data.idempotency_key,
        "member": data.member,
        "type": data.type,
        "occurred_at": data.occurred_at.astimezone(programme.tz).isoformat(),
        "points_awarded": sum(award["points"] for award in awards),
        "awards": awards,
        "balance": balance,
        "replayed": False,
        **extra,
    }


def award_answer(
    data: EventInput, programme: Programme, member: Member, awards: list[Award], **extra: Any
) -> dict:
    """The answer to an event that earned `awards`: the member's balance after them."""
    balance = member.balance + sum(award.points for award in awards if award.beneficiary.kind == "member")
    return result(data, programme, [award_out(award) for award in awards], balance, **extra)


def batch_answers(
    *, items: list[EventInput], planned: list[tuple[int, Member, Evaluation]], programme: Programme
) -> dict[int, dict]:
    """The answers of a batch chunk's plain events (`evaluation.batch_evaluate`), in order: each
    member's balance after each of their events."""
    balances: dict[int, int] = {}
    answers = {}
    for index, member, evaluation in planned:
        balances[member.pk] = balances.get(member.pk, member.balance) + evaluation.points
        awards = [award_out(award) for award in evaluation.awards]
        answers[index] = result(items[index], programme, awards, balances[member.pk])
    return answers
