"""common.forms.QuickSelect writes exactly the markup of Django's own Select."""

from __future__ import annotations

from django import forms
from django.utils import translation
from django.utils.safestring import mark_safe

from common.forms import QuickSelect
from complaints.forms import ComplaintForm

CHOICES = [
    ("", "Choose one"),
    ("Fruit & veg", [("1", "Apple <red>"), ("2", mark_safe("<b>Pear</b>"))]),
    ("Other", [("3", 'Quote " and ampersand &'), ("4", "Plain")]),
]


def tag(option):
    option["attrs"].update({"data-note": 'a "b" <c>', "data-on": True, "data-off": False})
    return option


class Tagged(QuickSelect):
    def create_option(self, *args, **kwargs):
        return tag(super().create_option(*args, **kwargs))


class TaggedDjango(forms.Select):
    def create_option(self, *args, **kwargs):
        return tag(super().create_option(*args, **kwargs))


def test_the_same_markup_as_django_for_groups_escaping_selection_and_attributes():
    attrs = {
        "id": "id_thing",
        "class": "form-select",
        "required": True,
        "aria-describedby": "help",
        "hidden": False,
    }
    for value in ("", "2", None, ["3"]):
        ours = QuickSelect(choices=CHOICES).render("thing", value, attrs=attrs)
        theirs = forms.Select(choices=CHOICES).render("thing", value, attrs=attrs)
        assert ours == theirs
    assert Tagged(choices=CHOICES).render("t", "4", attrs) == TaggedDjango(choices=CHOICES).render(
        "t", "4", attrs
    )


def test_the_filing_forms_subcategories_read_as_djangos_select_would_write_them(db):
    with translation.override("vi"):
        ours = str(ComplaintForm(initial={"language": "vi"})["subcategory"])
        form = ComplaintForm(initial={"language": "vi"})
        widget = form.fields["subcategory"].widget
        assert isinstance(widget, QuickSelect)
        form.fields["subcategory"].widget = forms.Select(attrs=widget.attrs, choices=widget.choices)
        theirs = str(form["subcategory"])
    assert "<optgroup" in ours
    assert ours.count("<option") > 10
    assert ours == theirs
