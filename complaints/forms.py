"""The complainant's forms (intake, case actions, finding a complaint) and the fields and
cleaning both audiences' forms share: validation and layout only."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from common import kept
from common.forms import ChoicesOnce, CleanTextMixin, QuickSelect
from complaints.models import ContactChannel, Incident, Language, PrivacyRequestKind, Subcategory
from complaints.selectors import (
    active_subcategories,
    cached_active_subcategories,
    grouped_subcategory_choices,
    matching_incidents,
)

# Times a little in the future are clock skew between the visitor's device and ours.
CLOCK_SLACK = timedelta(minutes=10)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


# No online service complaint is older than this; a year-1 date typed by hand would also
# become a BC timestamp in UTC, which the database stores but cannot give back to Python.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def not_in_future(value: Any) -> Any:
    """A moment that has happened: not in the future (beyond the clock slack), not before
    EARLIEST. The staff forms' moments use it too (an incident's start)."""
    if value is not None and value > timezone.now() + CLOCK_SLACK:
        raise forms.ValidationError(_("This date is in the future."))
    if value is not None and value < EARLIEST:
        raise forms.ValidationError(_("This date is too far in the past."))
    return value


def check_report_order(form: forms.Form, cleaned: dict[str, Any]) -> dict[str, Any]:
    """A problem is reported to its provider after it happened, not before."""
    occurred, reported = cleaned.get("occurred_at"), cleaned.get("first_reported_at")
    if occurred and reported and reported < occurred:
        form.add_error("first_reported_at", _("You cannot have reported it before it happened."))
    return cleaned


class SubcategoryField(forms.ModelChoiceField):
    widget = QuickSelect  # some sixty options, grouped

    def to_python(self, value: Any) -> Subcategory | None:
        if value in self.empty_values:
            return None
        subcategory = cached_active_subcategories().get(str(value))
        if subcategory is None:
            # Perhaps added since the cache was filled: look once more, in the database.
            kept.forget()
            subcategory = cached_active_subcategories().get(str(value))
        if subcategory is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return subcategory


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
        validators=[not_in_future],
        help_text=_("Your best estimate is fine."),
    )
    first_reported_at = forms.DateTimeField(
        label=_("When did you first report it to the provider?"),
        widget=DateTimeInput(),
        required=False,
        validators=[not_in_future],
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
    # "This is my problem too": one box per open incident of the chosen category and provider,
    # shown once both are known (the page rendered again, or static/js/intake.js asking
    # complaints:matching_incidents); written beside the layout, in _known_incidents.html.
    incidents = forms.TypedMultipleChoiceField(
        label=_("This is my problem too"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    # Explicit consent: an unticked box, never ticked for the visitor (rendered below the
    # privacy notice, after the files, not in the crispy layout).
    consent = forms.BooleanField(
        label=_("I have read how my personal data is processed, above, and I agree to it."),
        error_messages={
            "required": _("We can only handle your complaint with your consent: please tick the box.")
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built only when the page is rendered (a valid POST never needs it), in the
        # visitor's language; validation still goes through the field's queryset.
        self.fields["subcategory"].widget.choices = ChoicesOnce(grouped_subcategory_choices)
        if not self.is_bound and "submission_key" not in self.initial:
            self.initial["submission_key"] = uuid.uuid4()
        self.fields["incidents"].choices = [(incident.pk, incident.pk) for incident in self.known_incidents]

    @cached_property
    def known_incidents(self) -> list[Incident]:
        """The open incidents matching the category and provider typed so far (none on an empty
        form), from this process's copy: no query."""
        if not self.is_bound:
            return []
        subcategory = cached_active_subcategories().get(str(self.data.get("subcategory", "")))
        return matching_incidents(
            subcategory.category_id if subcategory else None, self.data.get("provider_name", "")
        )

    @property
    def incident_rows(self) -> list[tuple[Incident, bool]]:
        """Each known incident and whether its box is ticked, as the page writes them."""
        ticked = (
            set(self.data.getlist("incidents")) if self.is_bound and hasattr(self.data, "getlist") else set()
        )
        return [(incident, str(incident.pk) in ticked) for incident in self.known_incidents]

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
        )  # the submission key, new on every page, is written beside the layout
        return helper

    def clean(self) -> dict[str, Any]:
        cleaned = check_report_order(self, super().clean())
        # The first incident ticked (a complaint joins one); none if the boxes were not shown.
        ticked = set(cleaned.get("incidents") or ())
        cleaned["incident"] = next((i for i in self.known_incidents if i.pk in ticked), None)
        return cleaned


def _intake_field(name: str) -> forms.Field:
    """A copy of the intake form's field: the same label, help and validation."""
    return copy.deepcopy(ComplaintForm.base_fields[name])


class CompleteComplaintForm(CleanTextMixin, forms.Form):
    """What a complaint opened by e-mail still lacks, with the intake form's own fields, and
    the complainant's consent, which an e-mail cannot give."""

    subcategory = _intake_field("subcategory")
    provider_name = _intake_field("provider_name")
    occurred_at = _intake_field("occurred_at")
    first_reported_at = _intake_field("first_reported_at")
    desired_outcome = _intake_field("desired_outcome")
    consent = _intake_field("consent")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subcategory"].widget.choices = ChoicesOnce(grouped_subcategory_choices)

    def clean(self) -> dict[str, Any]:
        return check_report_order(self, super().clean())


class ContactForm(CleanTextMixin, forms.Form):
    """One earlier contact with the provider's support."""

    # A blank first choice, so an untouched extra row counts as empty and is skipped.
    channel = forms.ChoiceField(label=_("How"), choices=[("", "—"), *ContactChannel.choices])
    contacted_at = forms.DateTimeField(label=_("When"), widget=DateTimeInput(), validators=[not_in_future])
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


class CorrectContactForm(CleanTextMixin, forms.Form):
    """The complainant's contact details on one complaint, as the intake form asks them."""

    contact_name = _intake_field("contact_name")
    contact_email = _intake_field("contact_email")
    contact_phone = _intake_field("contact_phone")
    language = _intake_field("language")


class PrivacyRequestForm(CleanTextMixin, forms.Form):
    kind = forms.ChoiceField(label=_("What do you ask for?"), choices=PrivacyRequestKind.choices)
    details = forms.CharField(
        label=_("Details (optional)"),
        max_length=5_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For a correction, what is wrong and what is right; for an objection, why."),
    )


class WithdrawConsentForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I understand that my complaint will be closed, if it is still open, and its personal "
            "data erased: what I wrote, my contact details and my files."
        ),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class JoinIncidentForm(forms.Form):
    """The known problem a complainant joins after filing (the confirmation page's buttons send
    its id); whether it is theirs is the service's to say."""

    incident = forms.ModelChoiceField(
        queryset=Incident.objects.all(),
        error_messages={
            "required": _("That known problem was not found: choose one of those listed."),
            "invalid_choice": _("That known problem was not found: choose one of those listed."),
        },
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
