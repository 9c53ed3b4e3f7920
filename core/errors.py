"""The domain's errors, which services raise and every caller (API, admin form, command) reads.

They carry no HTTP status: the API's exception handler (`core.api.errors`) maps each kind to
its status and to the API's one error shape. An error is either about one input (`field`,
`message`, `code`) or lists messages per field (`errors`, as a form validation does); `errors`
is always a mapping of field to messages (field "" when no field is at fault), so a form shows
either kind the same way.
"""

from __future__ import annotations


class DomainError(Exception):
    """A write or read that cannot happen as asked. Subclasses say which kind of failure."""

    code = "invalid"

    def __init__(
        self,
        message: str | dict[str, list[str]],
        *,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        if isinstance(message, dict):
            self.errors = {name: list(texts) for name, texts in message.items()}
            self.by_field = True
            first = next(iter(self.errors.items()), None)
            field, text = (first[0], " ".join(first[1])) if first else (None, "invalid input")
            summary = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in self.errors.items())
        else:
            self.errors = {field or "": [message]}
            self.by_field = False
            text = summary = message
        super().__init__(summary or text)
        self.field = field or None
        self.message = text
        if code:
            self.code = code


class InvalidInput(DomainError):
    """The input itself is wrong: missing, malformed, out of range, unknown."""


class NotFound(DomainError):
    """What the input names does not exist."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the state of things (a key reused, a tier still held)."""

    code = "conflict"


class Refused(DomainError):
    """A well-formed request that the programme's rules refuse; `code` says why."""

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message, field=field, code=code)
