"""What every form of the portal does to the text it is given."""

from __future__ import annotations

from typing import Any

from django import forms

from common.text import clean_text, single_line


class CleanTextMixin:
    """Normalise every text field of the form the same way: a multi-line one (a Textarea) by
    `clean_text`, a single-line one also without invisible characters and on one line
    (`single_line`); passwords as typed.

    A required field left empty once those characters are dropped gets the field's own
    "required" message.
    """

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        for name, value in list(cleaned.items()):
            field = self.fields[name]  # type: ignore[attr-defined]
            if not isinstance(value, str) or isinstance(field.widget, forms.PasswordInput):
                continue
            cleaned[name] = (
                clean_text(value) if isinstance(field.widget, forms.Textarea) else single_line(value)
            )
            if field.required and not cleaned[name]:
                self.add_error(name, field.error_messages["required"])  # type: ignore[attr-defined]
        return cleaned
