"""Brands' message templates saved and previewed: the backoffice's template page and the API
(`messaging.api.templates`) both go through here, so they accept and refuse the same.

A template is refused when it is saved, not when it is sent: a variable the catalogue does not
name, an attribute, filter or power the sandbox keeps out (`messaging.rendering.template_errors`),
what could make its work grow beyond its size (`template_limits_errors`: loops, macros,
`{% set %}`, `%`, `join`), a channel or a language the brand does not have, an e-mail without a
subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from jinja2 import Environment, TemplateError, nodes

from core.audit import audit_deleting, audit_saved, audit_snapshot
from core.errors import Conflict, InvalidInput
from loyalty.models import Member
from loyalty.selectors.programme import programme_settings
from messaging.email_html import email_html
from messaging.models import Campaign, Channel, MessageTemplate
from messaging.rendering import (
    VARIABLES,
    TemplateRefused,
    template_errors,
    template_render,
    template_variables,
)
from messaging.selectors.variables import message_variables, site_url
from messaging.sms_encoding import SmsMeasure, sms_fold, sms_measure

TEMPLATE_FIELDS = ("code", "channel", "language", "name", "purpose", "subject", "body")
# Channels whose messages have a subject: an e-mail's (required), a letter's "Objet" line.
SUBJECT_CHANNELS = (Channel.EMAIL, Channel.POST)
# Variables only the event that sends a message knows (a trigger, an order, a letter batch): a
# preview shows their catalogue example. The member's own ones come from the member chosen.
EVENT_VARIABLES = frozenset(
    {
        "points_earned",
        "activation_code",
        "gift",
        "order_number",
        "order_status",
        "portal_url",
        "unsubscribe_url",
    }
)
EXAMPLES = {variable.name: variable.example for variable in VARIABLES}
_PARSER = Environment(autoescape=True)  # parses only: nothing is rendered with it


# What `messaging.rendering` bounds when it renders (repetition, powers, string methods, filters,
# the rendered length) still lets a template do work that grows beyond its own size before that
# length is checked: `{% set a = a ~ a %}` repeated doubles a text each line, loops nested over
# a name multiply, macros call each other, `"%0999999999d" % 1` pads, `join` squares a text
# (`name|join(name)`). The values are short flat strings: no template needs those.
_REFUSED_NODES = {
    nodes.For: "loops",
    nodes.Macro: "macros",
    nodes.CallBlock: "call blocks",
    nodes.Assign: "assignments ({% set %})",
    nodes.AssignBlock: "assignments ({% set %})",
    nodes.Mod: "the % operator",
}
_REFUSED_FILTERS = frozenset({"join"})


def template_limits_errors(source: str) -> list[str]:
    """What `source` does that a template may not (above), each with its line; a template the
    parser refuses is left to `template_errors`."""
    try:
        tree = _PARSER.parse(source)
    except TemplateError:
        return []
    errors: list[str] = []
    for kind, what in _REFUSED_NODES.items():
        for node in tree.find_all(kind):
            errors.append(f"Line {node.lineno}: a template cannot use {what}.")
    for node in tree.find_all(nodes.Filter):
        if node.name in _REFUSED_FILTERS:
            errors.append(f"Line {node.lineno}: the filter “{node.name}” cannot be used in a template.")
    return list(dict.fromkeys(errors))


def source_errors(source: str) -> list[str]:
    """Everything that stops `source` from being saved: the sandbox's rules, then the limits."""
    return template_errors(source) + template_limits_errors(source)


def _errors(
    *, code: str, channel: str, language: str, name: str, purpose: str, subject: str, body: str
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    row = MessageTemplate(
        code=code, channel=channel, language=language, name=name, purpose=purpose, subject=subject, body=body
    )
    try:
        row.full_clean(validate_constraints=False, validate_unique=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    languages = programme_settings().site_languages
    if language not in languages:
        errors.setdefault("language", []).append(
            f"“{language}” is not a language of the brand's site ({', '.join(languages)})"
        )
    if channel == Channel.EMAIL and not subject.strip():
        errors.setdefault("subject", []).append("an e-mail needs a subject")
    if subject and channel in Channel.values and channel not in SUBJECT_CHANNELS:
        errors.setdefault("subject", []).append("only e-mails and letters have a subject")
    for name_, source in (("subject", subject), ("body", body)):
        if source:
            problems = source_errors(source)
            if problems:
                errors.setdefault(name_, []).extend(problems)
    return errors


def template_validate(
    *,
    code: str,
    channel: str,
    language: str,
    name: str,
    purpose: str,
    subject: str,
    body: str,
    template: MessageTemplate | None = None,
) -> None:
    """Raises InvalidInput naming each field at fault (a form shows them where they belong), or a
    Conflict on `code` when another template has the same code, channel and language."""
    errors = _errors(
        code=code, channel=channel, language=language, name=name, purpose=purpose, subject=subject, body=body
    )
    if errors:
        raise InvalidInput(errors)
    taken = MessageTemplate.objects.filter(code=code, channel=channel, language=language)
    if template is not None and template.pk:
        taken = taken.exclude(pk=template.pk)
    if taken.exists():
        raise _clash(code=code, channel=channel, language=language)


def _clash(*, code: str, channel: str, language: str) -> Conflict:
    return Conflict(
        f"a {channel} template “{code}” in {language} exists already: change that one", field="code"
    )


def template_save(
    *,
    code: str,
    channel: str,
    language: str,
    name: str,
    purpose: str,
    subject: str,
    body: str,
    template: MessageTemplate | None = None,
) -> MessageTemplate:
    """Create (no `template`) or change a template, checked first (`template_validate`)."""
    values = {
        "code": code,
        "channel": channel,
        "language": language,
        "name": name,
        "purpose": purpose,
        "subject": subject,
        "body": body,
    }
    template_validate(**values, template=template)
    try:
        with transaction.atomic():
            row = (
                MessageTemplate.objects.select_for_update().get(pk=template.pk)
                if template is not None and template.pk
                else MessageTemplate()
            )
            before = audit_snapshot(row) if row.pk else None
            for field_name, value in values.items():
                setattr(row, field_name, value)
            row.save()
            audit_saved(obj=row, before=before)
    except IntegrityError as error:  # the same one saved at the same time by someone else
        raise _clash(code=code, channel=channel, language=language) from error
    return row


def template_delete(*, template: MessageTemplate) -> None:
    """Delete a template; the messages sent with it keep their text. The last template of a code
    and channel that a campaign not yet done or cancelled sends is a Conflict on `template`."""
    with transaction.atomic():
        row = MessageTemplate.objects.select_for_update().filter(pk=template.pk).first()
        if row is None:
            return
        others = MessageTemplate.objects.filter(code=row.code, channel=row.channel).exclude(pk=row.pk)
        waiting = Campaign.objects.filter(template_code=row.code, channel=row.channel).exclude(
            state__in=(Campaign.State.DONE, Campaign.State.CANCELLED)
        )
        if not others.exists() and waiting.exists():
            names = ", ".join(waiting.values_list("name", flat=True)[:3])
            raise Conflict(f"campaigns send this template ({names}): change them first", field="template")
        audit_deleting(obj=row)
        row.delete()


@dataclass(frozen=True)
class TemplatePreview:
    channel: str
    subject: str
    text: str
    html: str
    # The SMS's encoding and segments (SMS only).
    sms: SmsMeasure | None
    # The variables shown with their catalogue example, not the member's value.
    examples: tuple[str, ...] = field(default_factory=tuple)


def template_preview(*, template_data: Mapping[str, str], member: Member | None) -> TemplatePreview:
    """A template not yet saved (`channel`, `subject`, `body`) rendered for a real member: their
    own variables, and the catalogue's example for those only an event knows (the points just
    earned, the gift) or the member has none of (no points expiring); without a member, the
    catalogue's example for every variable. An e-mail also has its HTML part, as it is sent (the
    unsubscribe link an example: a real one would work); an SMS's text folded to GSM-7 where it
    can be, as `message_build` folds it. Raises InvalidInput naming
    `subject` or `body` for a template that could not be saved."""
    channel = str(template_data.get("channel") or "")
    subject = str(template_data.get("subject") or "")
    body = str(template_data.get("body") or "")
    errors = {name: source_errors(source) for name, source in (("subject", subject), ("body", body))}
    errors = {name: problems for name, problems in errors.items() if problems}
    if channel not in Channel.values:
        errors["channel"] = [f"“{channel}” is not a channel: {', '.join(Channel.values)}"]
    if errors:
        raise InvalidInput(errors)
    names = template_variables(subject) | template_variables(body)
    values = message_variables(member=member, names=names - EVENT_VARIABLES) if member else {}
    examples = tuple(
        sorted(name for name in names if name in EVENT_VARIABLES or values.get(name) in ("", None))
    )
    values.update({name: EXAMPLES[name] for name in examples})
    rendered = {}
    for name, source in (("subject", subject), ("body", body)):
        try:
            rendered[name] = template_render(source, values) if source else ""
        except TemplateRefused as error:  # stopped by the sandbox while rendering
            raise InvalidInput({name: error.errors}) from error
    text = sms_fold(rendered["body"]) if channel == Channel.SMS else rendered["body"]
    html = ""
    if channel == Channel.EMAIL:
        html = email_html(
            subject=rendered["subject"],
            body=text,
            language=str(template_data.get("language") or (member.language if member else "") or "en"),
            unsubscribe_url=EXAMPLES["unsubscribe_url"],
            site_url=site_url(),
        )
    return TemplatePreview(
        channel=channel,
        subject=rendered["subject"],
        text=text,
        html=html,
        sms=sms_measure(text) if channel == Channel.SMS else None,
        examples=examples,
    )
