"""Intake, complainant-action and staff-action forms: validation and layout only."""

from __future__ import annotations

import math
import re
import time
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import CharField, IntegerField, Value
from django.forms.models import ModelChoiceIteratorValue
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from complaints.models import (
    CannedReply,
    Category,
    Complaint,
    Complexity,
    ContactChannel,
    Language,
    Subcategory,
)

# C0 controls other than tab and newlines (and DEL) have no business in a complaint.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Times a little in the future are clock skew between the visitor's device and ours.
CLOCK_SLACK = timedelta(minutes=10)


def clean_text(value: str) -> str:
    """NFC-normalise (Vietnamese typed as NFD finds the same text) and drop control characters."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", value)).strip()


class CleanTextMixin:
    """Normalise every text field of the form the same way.

    A required field left empty once control characters are dropped gets the field's
    own "required" message.
    """

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        for name, value in list(cleaned.items()):
            if isinstance(value, str):
                cleaned[name] = clean_text(value)
                field = self.fields[name]  # type: ignore[attr-defined]
                if field.required and not cleaned[name]:
                    self.add_error(name, field.error_messages["required"])  # type: ignore[attr-defined]
        return cleaned


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


# No online service complaint is older than this; a year-1 date typed by hand would also
# become a BC timestamp in UTC, which the database stores but cannot give back to Python.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _not_in_future(value: Any) -> Any:
    if value is not None and value > timezone.now() + CLOCK_SLACK:
        raise forms.ValidationError(_("This date is in the future."))
    if value is not None and value < EARLIEST:
        raise forms.ValidationError(_("This date is too far in the past."))
    return value


def active_subcategories():
    return Subcategory.objects.filter(is_active=True, category__is_active=True).select_related("category")


_SUBCATEGORY_CACHE_SECONDS = 60
_subcategory_cache: tuple[float, dict[str, Subcategory]] = (-math.inf, {})


def cached_active_subcategories() -> dict[str, Subcategory]:
    """Active subcategories by primary key, kept for a minute in this process.

    Intake validates one on every submission; an admin's edit shows within a minute.
    """
    global _subcategory_cache
    loaded_at, by_pk = _subcategory_cache
    if time.monotonic() - loaded_at > _SUBCATEGORY_CACHE_SECONDS:
        by_pk = {str(sub.pk): sub for sub in active_subcategories()}
        _subcategory_cache = (time.monotonic(), by_pk)
    return by_pk


class SubcategoryField(forms.ModelChoiceField):
    def to_python(self, value: Any) -> Subcategory | None:
        if value in self.empty_values:
            return None
        subcategory = cached_active_subcategories().get(str(value))
        if subcategory is None:
            # Perhaps added since the cache was filled: look once more, in the database.
            global _subcategory_cache
            _subcategory_cache = (-math.inf, {})
            subcategory = cached_active_subcategories().get(str(value))
        if subcategory is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return subcategory


def grouped_subcategory_choices() -> list[tuple[Any, Any]]:
    """Subcategories grouped under their category names, for one <select> with <optgroup>s."""
    groups: dict[Category, list[tuple[Any, str]]] = {}
    for sub in active_subcategories():
        groups.setdefault(sub.category, []).append((sub.pk, sub.name))
    return [("", _("Choose what the problem is about"))] + [
        (category.name, choices) for category, choices in groups.items()
    ]


class ComplaintForm(CleanTextMixin, forms.Form):
    subcategory = SubcategoryField(
        queryset=active_subcategories(),
        label=_("What is the problem about?"),
        help_text=_("Pick the closest match; staff can correct it."),
    )
    provider_name = forms.CharField(
        label=_("Which service or company?"),
        max_length=150,
        help_text=_("The name of the app, website or shop, as it appears to you."),
    )
    subject = forms.CharField(
        label=_("Subject"),
        max_length=200,
        help_text=_("One line, e.g. “Locked out after changing my phone number”."),
    )
    description = forms.CharField(
        label=_("What happened?"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Facts in order: what you did, what you expected, what happened instead, "
            "any error message word for word."
        ),
    )
    desired_outcome = forms.CharField(
        label=_("What outcome do you want?"),
        max_length=2_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Be specific: “restore access to my account”, “refund 450,000 ₫”."),
    )
    occurred_at = forms.DateTimeField(
        label=_("When did it happen?"),
        widget=DateTimeInput(),
        validators=[_not_in_future],
        help_text=_("Your best estimate is fine."),
    )
    first_reported_at = forms.DateTimeField(
        label=_("When did you first report it to the provider?"),
        widget=DateTimeInput(),
        required=False,
        validators=[_not_in_future],
        help_text=_("Leave empty if you have not contacted them yet."),
    )
    provider_username = forms.CharField(label=_("Your username there"), max_length=150, required=False)
    provider_email = forms.CharField(
        label=_("The e-mail you log in with there"), max_length=254, required=False
    )
    provider_account_id = forms.CharField(
        label=_("Account, customer or order number"),
        max_length=150,
        required=False,
        help_text=_("Never give your password: we will never ask for it."),
    )
    steps_taken = forms.CharField(
        label=_("What have you already tried?"),
        max_length=5_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("E.g. reset the password, reinstalled the app, wrote to support twice."),
    )
    contact_name = forms.CharField(
        label=_("Your name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    contact_email = forms.EmailField(
        label=_("Your e-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("We send the acknowledgement and your tracking link here."),
    )
    contact_phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    language = forms.ChoiceField(label=_("Language for our messages"), choices=Language.choices)
    submission_key = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built only when the page is rendered (a valid POST never needs it), in the
        # visitor's language; validation still goes through the field's queryset.
        self.fields["subcategory"].widget.choices = grouped_subcategory_choices
        if not self.is_bound and "submission_key" not in self.initial:
            self.initial["submission_key"] = uuid.uuid4()

    @cached_property
    def helper(self) -> FormHelper:
        """The crispy layout, built when the page is rendered: a valid POST never needs it."""
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True
        helper.layout = Layout(
            Fieldset(
                _("The problem"), "subcategory", "provider_name", "subject", "description", "desired_outcome"
            ),
            Fieldset(_("When"), "occurred_at", "first_reported_at"),
            Fieldset(
                _("Your account at the provider"),
                "provider_username",
                "provider_email",
                "provider_account_id",
            ),
            Fieldset(_("What you have tried"), "steps_taken"),
            Fieldset(_("How we reach you"), "contact_name", "contact_email", "contact_phone", "language"),
            "submission_key",
        )
        return helper

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        occurred, reported = cleaned.get("occurred_at"), cleaned.get("first_reported_at")
        if occurred and reported and reported < occurred:
            self.add_error("first_reported_at", _("You cannot have reported it before it happened."))
        return cleaned


class ContactForm(CleanTextMixin, forms.Form):
    """One earlier contact with the provider's support."""

    # A blank first choice, so an untouched extra row counts as empty and is skipped.
    channel = forms.ChoiceField(label=_("How"), choices=[("", "—"), *ContactChannel.choices])
    contacted_at = forms.DateTimeField(label=_("When"), widget=DateTimeInput(), validators=[_not_in_future])
    with_whom = forms.CharField(label=_("With whom"), max_length=150, required=False)
    their_reference = forms.CharField(label=_("Their ticket or case number"), max_length=150, required=False)
    summary = forms.CharField(
        label=_("What was said"), max_length=5_000, widget=forms.Textarea(attrs={"rows": 2})
    )


class BaseContactFormSet(forms.BaseFormSet):
    @property
    def entries(self) -> list[dict[str, Any]]:
        """The filled-in contacts (empty extra rows are skipped)."""
        return [form.cleaned_data for form in self.forms if form.cleaned_data and form.has_changed()]


ContactFormSet = forms.formset_factory(
    ContactForm, formset=BaseContactFormSet, extra=1, max_num=20, validate_max=True, absolute_max=20
)


class ReplyForm(CleanTextMixin, forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write a message first.")},
    )


class ReasonForm(CleanTextMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why?"),
        max_length=5_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Please tell us why.")},
    )


class WithdrawForm(CleanTextMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why are you withdrawing? (optional)"),
        max_length=5_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RatingForm(CleanTextMixin, forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How well was your complaint handled?"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("5 is best."),
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=2_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class FindComplaintForm(CleanTextMixin, forms.Form):
    reference = forms.CharField(
        label=_("Complaint reference"),
        max_length=32,
        help_text=_("It looks like KN-7F3K-Q9XM and is in the acknowledgement e-mail."),
    )
    email = forms.EmailField(label=_("The e-mail address you gave"), max_length=254)


# --- Staff actions on the case page ----------------------------------------------------------------


class StaffActionForm(CleanTextMixin, forms.Form):
    """A staff form on the case page: carries the version of the case it was read at.

    Fields keep plain names (the POST contract); `auto_id` keeps their HTML ids unique
    among the page's forms.
    """

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": _("This form is incomplete. Reload the page, then retry."),
            "invalid": _("This form is incomplete. Reload the page, then retry."),
        },
    )

    def __init__(
        self, *args: Any, complaint: Complaint | None = None, user: Any = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("auto_id", f"id_{type(self).__name__.lower()}_%s")
        super().__init__(*args, **kwargs)
        self.complaint, self.user = complaint, user
        if complaint is not None and "version" not in self.initial:
            self.initial["version"] = complaint.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The hidden field's error would not be shown next to it: show it on the form.
        for error in self.errors.get("version", []):
            self.add_error(None, error)
        return cleaned


class CannedReplySelect(forms.Select):
    """A select of canned replies whose options carry their text in the complaint's language.

    static/js/canned.js copies that text into the message box; without JavaScript the
    server uses the same text when the box is left empty.
    """

    language = settings.LANGUAGE_CODE

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-canned-text"] = instance.body_for(self.language)
        return option


class StaffReplyForm(StaffActionForm):
    canned = forms.ModelChoiceField(
        queryset=CannedReply.objects.filter(active=True),
        required=False,
        label=_("Prepared reply"),
        empty_label=_("— none, I write my own —"),
        widget=CannedReplySelect(
            attrs={
                "data-canned-source": "",
                "data-canned-confirm": _("Replace what you wrote with the prepared reply?"),
            }
        ),
        help_text=_("Fills in the message in the complainant's language; you can edit it before sending."),
    )
    body = forms.CharField(
        label=_("Message to the complainant"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "data-canned-target": ""}),
        help_text=_("The complainant sees this and is notified by e-mail."),
    )

    def __init__(self, *args: Any, canned_replies: list[CannedReply] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["canned"]
        field.widget.language = self.complaint.language if self.complaint else settings.LANGUAGE_CODE
        if canned_replies is not None:
            self.show_canned_replies(canned_replies)

    def show_canned_replies(self, canned_replies: list[CannedReply]) -> None:
        """Render the select from replies the page already read, instead of a second query."""
        field = self.fields["canned"]
        if not canned_replies:
            field.widget = forms.HiddenInput()
            return
        field.widget.choices = [
            ("", field.empty_label),
            *((ModelChoiceIteratorValue(reply.pk, reply), reply.title) for reply in canned_replies),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        canned = cleaned.get("canned")
        if not cleaned.get("body") and canned is not None and self.complaint is not None:
            cleaned["body"] = clean_text(canned.body_for(self.complaint.language))
        if not cleaned.get("body") and not self.has_error("body"):
            self.add_error("body", _("Write a message or choose a prepared reply."))
        return cleaned


class InternalNoteForm(CleanTextMixin, forms.Form):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only staff see this. Nobody is notified."),
        error_messages={"required": _("Write the note first.")},
    )

    def __init__(self, *args: Any, complaint: Complaint | None = None, user: Any = None, **kwargs: Any):
        kwargs.setdefault("auto_id", "id_note_%s")
        super().__init__(*args, **kwargs)


class RequestInfoForm(StaffActionForm):
    body = forms.CharField(
        label=_("What do you need from the complainant?"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("They see this message. The SLA clock pauses until they answer."),
        error_messages={"required": _("Say what information you need.")},
    )


def staff_form_choices() -> tuple[list[CannedReply], list[Subcategory]]:
    """The active canned replies and the active subcategories (with their categories) that the
    staff forms offer, read in one query (UNION ALL), so the staff case page stays within the
    query budget of tests/complaints/test_case_page.py.
    """
    text, number = CharField(), IntegerField()
    canned = (
        CannedReply.objects.filter(active=True)
        .order_by()
        .values_list(
            Value("canned", output_field=text),
            "pk",
            "title",
            "body_vi",
            "body_en",
            Value("", output_field=text),
            "ordering",
            Value(0, output_field=number),
            Value(0, output_field=number),
        )
    )
    subcategories = (
        Subcategory.objects.filter(is_active=True, category__is_active=True)
        .order_by()
        .values_list(
            Value("subcategory", output_field=text),
            "pk",
            "name_vi",
            "name_en",
            "category__name_vi",
            "category__name_en",
            "position",
            "category_id",
            "category__position",
        )
    )
    replies: list[CannedReply] = []
    subs: list[Subcategory] = []
    categories: dict[int, Category] = {}
    for kind, pk, first, second, third, fourth, position, category_id, category_position in canned.union(
        subcategories, all=True
    ):
        if kind == "canned":
            replies.append(
                CannedReply(pk=pk, title=first, body_vi=second, body_en=third, ordering=position, active=True)
            )
            continue
        category = categories.setdefault(
            category_id,
            Category(pk=category_id, name_vi=third, name_en=fourth, position=category_position),
        )
        subs.append(Subcategory(pk=pk, name_vi=first, name_en=second, position=position, category=category))
    replies.sort(key=lambda reply: (reply.ordering, reply.pk))
    subs.sort(key=lambda sub: (sub.category.position, sub.category.pk, sub.position, sub.pk))
    return replies, subs


class ReclassifyForm(StaffActionForm):
    subcategory = SubcategoryField(queryset=active_subcategories(), label=_("Category and subcategory"))
    complexity = forms.ChoiceField(
        label=_("Complexity"),
        choices=Complexity.choices,
        help_text=_("Deadlines are recomputed from the policy of the new category and complexity."),
    )

    def __init__(self, *args: Any, subcategories: list[Subcategory] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built when rendered (a POST never needs it); the case page hands over what it read.
        self.fields["subcategory"].widget.choices = grouped_subcategory_choices
        if subcategories is not None:
            self.show_subcategories(subcategories)
        if self.complaint is not None:
            self.initial.setdefault("subcategory", self.complaint.subcategory_id)
            self.initial.setdefault("complexity", self.complaint.complexity)

    def show_subcategories(self, subcategories: list[Subcategory]) -> None:
        """Offer these subcategories, grouped under their categories' names."""
        groups: dict[int, tuple[str, list[tuple[Any, str]]]] = {}
        for sub in subcategories:
            groups.setdefault(sub.category.pk, (sub.category.name, []))[1].append((sub.pk, sub.name))
        self.fields["subcategory"].widget.choices = list(groups.values())


class AssignForm(StaffActionForm):
    """`assignee` is a user's pk, or `me` (a claim)."""

    assignee = forms.CharField(
        label=_("Assign to"),
        max_length=20,
        widget=forms.Select,
        error_messages={"required": _("Choose who should handle the case.")},
    )

    def __init__(self, *args: Any, staff: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.show_staff(staff)

    def show_staff(self, staff: list[Any]) -> None:
        """Offer these people in the select (a lead's or manager's form)."""
        self.fields["assignee"].widget.choices = [
            ("", "—"),
            *((str(person.pk), person.display_name) for person in staff),
        ]

    def clean_assignee(self) -> Any:
        value = self.cleaned_data["assignee"].strip()
        if value == "me" and self.user is not None:
            return self.user
        # isdigit() alone lets through digits int() refuses ("²") and ids no column holds.
        number = int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None
        person = get_user_model().objects.filter(pk=number).first() if number else None
        if person is None:
            raise forms.ValidationError(_("Choose who should handle the case."), code="invalid")
        return person


class StaffReasonForm(StaffActionForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=5_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded on the case's internal timeline."),
        error_messages={"required": _("Give a reason.")},
    )


class ResolveForm(StaffActionForm):
    summary = forms.CharField(
        label=_("Resolution summary"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What was done. The complainant sees this and may accept or dispute it."),
        error_messages={"required": _("Summarise the resolution.")},
    )
