"""Form fields of the backoffice."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.fields import InvalidJSONInput

from core.text import MAX_JSON_DEPTH, NUL_MESSAGE, json_too_deep, nul_path


class BackofficeJSONField(forms.JSONField):
    """A JSON text refused, as a form error, when Python or PostgreSQL could not take it: nested
    deeper than MAX_JSON_DEPTH levels (Python's JSON parser recurses) or holding a NUL character
    anywhere (PostgreSQL's jsonb refuses it; the error names where it is)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and json_too_deep(value, limit=MAX_JSON_DEPTH):
            raise forms.ValidationError(
                f"nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects", code="too_deep"
            )
        converted = super().to_python(value)
        if isinstance(value, str) and "\\u0000" in value:
            path = nul_path(converted, path="")
            if path is not None:
                raise forms.ValidationError(f"{path}: {NUL_MESSAGE}" if path else NUL_MESSAGE, code="nul")
        return converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        # The form drawn again with what was typed: too deep to parse, it is shown as typed.
        if isinstance(data, str) and not self.disabled and json_too_deep(data, limit=MAX_JSON_DEPTH):
            return InvalidJSONInput(data)
        return super().bound_data(data, initial)
