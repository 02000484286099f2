"""Forms written in Python with the markup of crispy-bootstrap5's `|crispy` and
`|as_crispy_field` filters.

crispy-bootstrap5 writes each field through some ten nested templates (the field, its
label, help text and errors, the widget and its attributes): about 0.5 ms a field, a fifth
of a case page with its dozen forms. These filters write the same elements, attributes and
text for the fields the portal's pages have: hidden inputs, text inputs and text areas,
selects and check boxes. A field of any other kind (radio buttons, files, multi-widgets,
fieldsets) is written by crispy's own template, so the markup stays crispy's in every case;
tests compare the two on every form of the portal, valid and with errors.

Templates `{% load bootstrap_forms %}` and write `{{ form|crispy }}` and
`{{ field|as_crispy_field }}` as with crispy's library.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field as crispy_field
from django import forms, template
from django.forms.boundfield import BoundField
from django.forms.utils import ErrorDict
from django.forms.widgets import Input
from django.template.defaultfilters import unordered_list
from django.template.loader import get_template
from django.utils.choices import CallableChoiceIterator
from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from common.forms import select_html
from common.markup import attributes, escaped

register = template.Library()


class Blank:
    """A form as a page first shows it: unbound, nothing filled in. Its markup then depends on
    its class, its prefix and the language alone, so `|crispy` writes it once per process and
    language (a handful of forms in two languages) and gives the same text ever after. Nothing
    is made until a template reads more than the markup and the (empty) errors: anything else
    comes from a real form, made on first use.

    Only for a form whose fields are the same for every instance: its class may set nothing
    up per instance (no `__init__` of its own, where choices from the database or today's date
    would go) and hold no choices read when shown (a query set, a callable).
    """

    is_bound = False

    def __init__(self, form_class: type[forms.BaseForm], *, prefix: str | None = None) -> None:
        if form_class.__init__ is not forms.BaseForm.__init__:
            raise TypeError(f"{form_class.__name__} sets its fields up per instance: not a Blank form")
        for name, field in form_class.base_fields.items():
            if isinstance(field, forms.ModelChoiceField) or isinstance(
                getattr(field, "choices", None), CallableChoiceIterator
            ):
                raise TypeError(f"{form_class.__name__}.{name} reads its choices when shown")
        self.form_class, self.prefix = form_class, prefix

    @property
    def errors(self) -> ErrorDict:
        return ErrorDict()

    @cached_property
    def form(self) -> forms.BaseForm:
        return self.form_class(prefix=self.prefix)

    def html(self) -> SafeString:
        key = (self.form_class, self.prefix, get_language())
        written = _BLANKS.get(key)
        if written is None:
            written = _BLANKS[key] = form_html(self.form)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.form, name)

    def __iter__(self) -> Iterator[BoundField]:
        return iter(self.form)

    def __getitem__(self, name: str) -> BoundField:
        # A template looks `blank.errors` up as a key first: no form is made for that.
        if name not in self.form_class.base_fields:
            raise KeyError(name)
        return self.form[name]


# The markup of each Blank form by class, prefix and language, as this process wrote it.
_BLANKS: dict[tuple[type, str | None, str], SafeString] = {}


@register.filter(name="crispy")
def form_html(form: forms.BaseForm | Blank) -> SafeString:
    """The form's non-field errors, then each field, as crispy's `uni_form.html` writes them."""
    if isinstance(form, Blank):
        return form.html()
    parts = []
    errors = form.non_field_errors()
    if errors:
        parts.append(
            '<div class="alert alert-block alert-danger"><ul class="m-0">'
            f"{unordered_list(errors, autoescape=True)}</ul></div>"
        )
    parts.extend(field_html(field) for field in form)
    return mark_safe("".join(parts))  # noqa: S308 - each part escaped as crispy's templates escape it


@register.filter(name="as_crispy_field")
def as_field(field: BoundField) -> SafeString:
    """One field as crispy's `|as_crispy_field` writes it: by crispy itself when the form has a
    FormHelper, whose attributes that filter applies."""
    if getattr(field.form, "helper", None) is not None:
        return crispy_field(field)
    return field_html(field)


def field_html(field: BoundField) -> SafeString:
    """One field as crispy's `bootstrap5/field.html` writes it (with form_show_labels and
    form_show_errors, no label or field class)."""
    if field.is_hidden:
        return mark_safe(_control(field, {}))  # noqa: S308 - written as Django's widget templates write it
    widget = field.field.widget
    if isinstance(widget, (forms.RadioSelect, forms.FileInput, forms.MultiWidget)) or field.use_fieldset:
        return get_template("bootstrap5/field.html").render(  # crispy's own template for these kinds
            {
                "field": field,
                "form_show_errors": True,
                "form_show_labels": True,
                "label_class": "",
                "field_class": "",
            }
        )
    checkbox = isinstance(widget, forms.CheckboxInput)
    kind = (
        "form-check-input"
        if checkbox
        else "form-select"
        if isinstance(widget, forms.Select)
        else "form-control"
    )
    control = _widget(field, f"{kind} is-invalid" if field.errors else kind)
    required = field.field.required
    asterisk = '<span class="asteriskField">*</span>' if required else ""
    extra = field.css_classes()
    extra = f" {escaped(extra)}" if extra else ""
    if checkbox:
        label = (
            f'<label for="{escaped(field.id_for_label)}" class="form-check-label'
            f'{" requiredField" if required else ""}">{escaped(field.label)}{asterisk}</label>'
        )
        return mark_safe(  # noqa: S308 - every value escaped above
            f'<div class="mb-3"><div id="div_{escaped(field.auto_id)}" class="form-check{extra}">'
            f"{control}{label}{_help_and_errors(field)}</div></div>"
        )
    label = ""
    if field.label:
        target = f' for="{escaped(field.id_for_label)}"' if field.id_for_label else ""
        label = (
            f'<label{target} class="form-label{" requiredField" if required else ""}">'
            f"{escaped(field.label)}{asterisk}</label>"
        )
    return mark_safe(  # noqa: S308 - every value escaped above
        f'<div id="div_{escaped(field.auto_id)}" class="mb-3{extra}">'
        f"{label}{control}{_help_and_errors(field)}</div>"
    )


def _widget(field: BoundField, css: str) -> str:
    """The widget with the classes crispy's `crispy_field` tag gives it: the widget's own, its
    class's name, then `css`; as the tag does, but without changing the widget's attributes."""
    widget = field.field.widget
    classes = widget.attrs.get("class", "")
    name = type(widget).__name__.lower()
    if not classes:
        classes = name
    elif classes.find(name) == -1:
        classes += f" {name}"
    present = classes.split()
    classes += "".join(f" {css_class}" for css_class in css.split() if css_class not in present)
    return _control(field, {"class": classes})


# Django's templates for these widgets, which _control writes without them.
INPUT_TEMPLATES = {
    f"django/forms/widgets/{kind}.html"
    for kind in ("input", "text", "email", "url", "number", "password", "hidden", "date", "datetime", "time")
}
INPUT_TEMPLATES.add(forms.CheckboxInput.template_name)
TEXTAREA_TEMPLATE = forms.Textarea.template_name
SELECT_TEMPLATE = forms.Select.template_name


def _control(field: BoundField, attrs: dict[str, Any]) -> str:
    """`field.as_widget(attrs=attrs)` (and the hidden initial value after it, as `str(field)`
    adds it), with an input's, a text area's or a select's markup written here rather than by
    Django's templates (two or more a field). Any other widget, or one with a template of its
    own, renders itself."""
    if field.field.localize:
        html = field.as_widget(attrs=attrs)
    else:
        widget = field.field.widget
        attrs = field.build_widget_attrs(attrs, widget)
        if field.auto_id and "id" not in widget.attrs:
            attrs.setdefault("id", field.auto_id)
        value = field.value()
        html = _written(widget, field.html_name, value, attrs) or widget.render(
            field.html_name, value, attrs, field.form.renderer
        )
    if field.field.show_hidden_initial:
        html += field.as_hidden(only_initial=True)
    return html


def _written(widget: forms.Widget, name: str, value: Any, attrs: dict[str, Any]) -> str | None:
    """The markup of Django's own templates for an input, a text area or a select (None for
    any other widget, or one with a template of its own)."""
    if isinstance(widget, forms.Select) and widget.template_name == SELECT_TEMPLATE:
        return select_html(widget, name, value, attrs)
    if isinstance(widget, forms.Textarea) and widget.template_name == TEXTAREA_TEMPLATE:
        context = widget.get_context(name, value, attrs)["widget"]
        shown = context["value"]
        return (
            f'<textarea name="{escaped(context["name"])}"{attributes(context["attrs"])}>\n'
            f"{escaped(shown) if shown else ''}</textarea>"
        )
    if isinstance(widget, Input) and widget.template_name in INPUT_TEMPLATES:
        context = widget.get_context(name, value, attrs)["widget"]
        shown = f' value="{escaped(context["value"])}"' if context["value"] is not None else ""
        return (
            f'<input type="{escaped(context["type"])}" name="{escaped(context["name"])}"{shown}'
            f"{attributes(context['attrs'])}>"
        )
    return None


def _help_and_errors(field: BoundField) -> str:
    """crispy's `help_text_and_errors.html`: the errors' block, then the help text (not escaped,
    as crispy writes it: help texts are the portal's own)."""
    parts = []
    if field.errors:
        parts.append(f'<div id="{escaped(field.errors.field_id)}_error" class="invalid-feedback">')
        parts.extend(
            f'<p id="error_{n}_{escaped(field.auto_id)}"><strong>{escaped(error)}</strong></p>'
            for n, error in enumerate(field.errors, start=1)
        )
        parts.append("</div>")
    if field.help_text:
        target = f'id="{escaped(field.auto_id)}_helptext" ' if field.auto_id else ""
        parts.append(f'<div {target}class="form-text">{field.help_text}</div>')
    return "".join(parts)
