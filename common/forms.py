"""What every form of the portal does to the text it is given."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.utils.choices import BaseChoiceIterator, normalize_choices
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from common.markup import attributes
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


class ChoicesOnce(BaseChoiceIterator):
    """Choices built by `func` when a widget first reads them, then kept for that widget.

    Django's own lazy choices call the function at every read, and a select reads them
    twice a rendering (whether the first option is empty, then the options).
    """

    def __init__(self, func: Callable[[], Any]) -> None:
        self.func = func

    @cached_property
    def choices(self) -> list[Any]:
        return list(normalize_choices(self.func()))

    def __iter__(self) -> Iterator[Any]:
        yield from self.choices


SELECT_OPTION_TEMPLATE = forms.Select.option_template_name


class QuickSelect(forms.Select):
    """A select written in Python: the markup of Django's own, without a template per option.

    Django renders two templates for each option (the option and its attributes): a list of
    some sixty subcategories took 4 ms a form, more than the rest of the filing form's fields
    together. The options, their groups and their attributes (a custom `create_option`'s
    included) are the widget's own; only the writing changes.
    """

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        return select_html(self, name, value, attrs) or super().render(name, value, attrs, renderer)


def select_html(
    select: forms.Select, name: str, value: Any, attrs: dict[str, Any] | None
) -> SafeString | None:
    """What `select.render(name, value, attrs)` writes, written here; None when an option has a
    template of its own (the select then renders itself)."""
    widget = select.get_context(name, value, attrs)["widget"]
    written = mark_safe(attributes(widget["attrs"]))  # noqa: S308 - each name and value escaped
    parts = [format_html('<select name="{}"{}>', widget["name"], written)]
    for group_name, options, _index in widget["optgroups"]:
        if any(option["template_name"] != SELECT_OPTION_TEMPLATE for option in options):
            return None
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        for option in options:
            parts.append(
                format_html(
                    '\n  <option value="{}"{}>{}</option>\n',  # the option template's own last line break
                    str(option["value"]),
                    mark_safe(attributes(option["attrs"])),  # noqa: S308 - each name and value escaped
                    option["label"],
                )
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every part built by format_html
