"""The staff pages' forms: the actions on a case, the queue's filters, the dashboard's period and
the export's filters. Validation and layout only: the choices they offer are read by
`staff.selectors`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.forms.models import ModelChoiceIteratorValue
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.forms import ChoicesOnce, CleanTextMixin, QuickSelect
from common.text import clean_text
from complaints.forms import SubcategoryField, not_in_future
from complaints.models import (
    QUEUE_STATUSES,
    STAFF_STATUS_LABELS,
    CannedReply,
    Category,
    Complaint,
    Complexity,
    Currency,
    Outcome,
    PrivacyRequestStatus,
    Remedy,
    Status,
)
from complaints.selectors import (
    active_subcategories,
    cached_categories,
    cached_causes,
    causes_for,
    grouped_subcategory_choices,
)
from escalation.models import Regime
from staff import compliance
from staff.dashboard import DEFAULT_WEEKS, WEEK_CHOICES
from staff.selectors import CannedChoice, SubcategoryChoice

# --- Actions on a case ---------------------------------------------------------------------------


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


class CannedReplySelect(QuickSelect):
    """A select of canned replies whose options carry their text in the complaint's language.

    static/js/canned.js copies that text into the message box; without JavaScript the
    server uses the same text when the box is left empty.
    """

    language = settings.LANGUAGE_CODE

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if isinstance(instance, CannedChoice):  # read by the case page, already in its language
            option["attrs"]["data-canned-text"] = instance.text
        elif instance is not None:
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

    def __init__(self, *args: Any, canned_replies: list[CannedChoice] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["canned"]
        field.widget.language = self.complaint.language if self.complaint else settings.LANGUAGE_CODE
        if canned_replies is not None:
            self.show_canned_replies(canned_replies)

    def show_canned_replies(self, canned_replies: list[CannedChoice]) -> None:
        """Render the select from replies the page already read, instead of a second query."""
        field = self.fields["canned"]
        if not canned_replies:
            field.widget = forms.HiddenInput()
            return
        field.widget.choices = [
            ("", field.empty_label),
            *((ModelChoiceIteratorValue(reply.id, reply), reply.title) for reply in canned_replies),
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


class ReclassifyForm(StaffActionForm):
    subcategory = SubcategoryField(queryset=active_subcategories(), label=_("Category and subcategory"))
    complexity = forms.ChoiceField(
        label=_("Complexity"),
        choices=Complexity.choices,
        help_text=_("Deadlines are recomputed from the policy of the new category and complexity."),
    )

    def __init__(
        self, *args: Any, subcategories: list[SubcategoryChoice] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Built when rendered (a POST never needs it); the case page hands over what it read.
        self.fields["subcategory"].widget.choices = ChoicesOnce(grouped_subcategory_choices)
        if subcategories is not None:
            self.show_subcategories(subcategories)
        if self.complaint is not None:
            self.initial.setdefault("subcategory", self.complaint.subcategory_id)
            self.initial.setdefault("complexity", self.complaint.complexity)

    def show_subcategories(self, subcategories: list[SubcategoryChoice]) -> None:
        """Offer these subcategories, grouped under their categories' names."""
        groups: dict[int, tuple[str, list[tuple[Any, str]]]] = {}
        for sub in subcategories:
            groups.setdefault(sub.category_id, (sub.category_name, []))[1].append((sub.id, sub.name))
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
    """The resolution and what was found: the cause (of the case's category, or for every
    category), whether the complaint is upheld, the remedy (a refund with its amount)."""

    summary = forms.CharField(
        label=_("Resolution summary"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "What was found and what was done. The complainant sees this and may accept or dispute it."
        ),
        error_messages={"required": _("Summarise the resolution.")},
    )
    cause = forms.TypedChoiceField(
        label=_("Cause"),
        coerce=int,
        help_text=_("Why the complaint arose, as you found it: counted on the dashboard."),
        error_messages={
            "required": _("Choose the cause."),
            "invalid_choice": _("Choose one of the causes listed."),
        },
    )
    outcome = forms.ChoiceField(
        label=pgettext_lazy("whether a complaint is upheld", "Outcome"),
        choices=[("", "—"), *Outcome.choices],
        error_messages={"required": _("Say whether the complaint is upheld.")},
    )
    remedy = forms.ChoiceField(
        label=_("Remedy"),
        choices=[("", "—"), *Remedy.choices],
        error_messages={"required": _("Choose the remedy.")},
    )
    remedy_amount = forms.DecimalField(
        label=_("Refund amount"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Only for a refund."),
        error_messages={"invalid": _("Write the amount as a number, e.g. 150000 or 12.50.")},
    )
    remedy_currency = forms.ChoiceField(
        label=_("Currency"), choices=Currency.choices, initial=Currency.VND, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category_id = self.complaint.category_id if self.complaint is not None else None
        self.fields["cause"].choices = [
            ("", "—"),
            *((cause.pk, cause.name) for cause in causes_for(category_id)),
        ]

    def clean(self) -> dict[str, Any]:
        return clean_findings(self, super().clean())


def clean_findings(form: forms.Form, cleaned: dict[str, Any]) -> dict[str, Any]:
    """What staff found, as a resolve form posts it: a refund needs its amount and currency, no
    other remedy has one; the cause's id becomes the cause."""
    if cleaned.get("remedy") == Remedy.REFUND:
        if cleaned.get("remedy_amount") is None and "remedy_amount" not in form.errors:
            form.add_error("remedy_amount", _("Give the amount refunded."))
        if not cleaned.get("remedy_currency"):
            form.add_error("remedy_currency", _("Choose the currency."))
    else:  # only a refund has an amount
        cleaned["remedy_amount"], cleaned["remedy_currency"] = None, ""
    if "cause" in cleaned:
        cleaned["cause"] = cached_causes()[cleaned["cause"]]
    return cleaned


# --- Lists and reports ------------------------------------------------------------------------


class FilterSelect(QuickSelect):
    """A select of the queue's filters (QueueFilterForm marks it invalid on an error)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, attrs={"class": "form-select"}, **kwargs)


class QueueFilterForm(CleanTextMixin, forms.Form):
    """Filters of the queue; every field optional, every value checked."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200, strip=True)
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.all(),
        required=False,
        empty_label=_("Any"),
        widget=FilterSelect,
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        # Staff's words for the paused state, as on the queue's badges.
        choices=[("", _("Any"))]
        + [(s.value, STAFF_STATUS_LABELS.get(s, s.label)) for s in Status if s in QUEUE_STATUSES],
        widget=FilterSelect,
    )
    complexity = forms.ChoiceField(
        label=_("Complexity"),
        required=False,
        choices=[("", _("Any")), *Complexity.choices],
        widget=FilterSelect,
    )
    level = forms.IntegerField(label=_("Level"), required=False, min_value=0, max_value=100)
    breached = forms.BooleanField(label=_("Breached only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The categories listed from this process's copy (the queryset still checks a choice).
        self.fields["category"].widget.choices = ChoicesOnce(
            lambda: [("", _("Any"))] + [(category.pk, category.name) for category in cached_categories()]
        )

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            widget = self.fields[name].widget if name in self.fields else None
            if isinstance(widget, FilterSelect):
                widget.attrs["class"] = "form-select is-invalid"


class DashboardForm(CleanTextMixin, forms.Form):
    """The dashboard's only parameter: how many recent weeks it covers."""

    weeks = forms.TypedChoiceField(
        label=_("Period"),
        choices=[(n, _("Last %(n)s weeks") % {"n": n}) for n in WEEK_CHOICES],
        coerce=int,
        required=False,
        empty_value=DEFAULT_WEEKS,
        error_messages={
            "invalid_choice": _("Choose a period of 4, 12 or 26 weeks."),
        },
    )


class ExportFilterForm(CleanTextMixin, forms.Form):
    """Which complaints to export; every field optional, every value checked."""

    submitted_from = forms.DateField(label=_("Submitted from"), required=False)
    submitted_to = forms.DateField(label=_("Submitted until"), required=False)
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=_("Any"),
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any")), *Status.choices])
    complexity = forms.ChoiceField(
        label=_("Complexity"), required=False, choices=[("", _("Any")), *Complexity.choices]
    )
    level = forms.IntegerField(label=_("Level"), required=False, min_value=0, max_value=100)
    breached = forms.BooleanField(label=_("Breached only"), required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("submitted_from"), cleaned.get("submitted_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        return cleaned


class AttachMailForm(CleanTextMixin, forms.Form):
    """The case a reviewer puts a waiting e-mail on."""

    reference = forms.CharField(
        label=_("Case reference"),
        max_length=16,
        help_text=_("For example KN-7F3K-Q9XM. The e-mail is added as the complainant's reply."),
        error_messages={"required": _("Give the reference of the case.")},
    )

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"].strip().upper()
        if not Complaint.objects.filter(reference=reference).exists():
            raise forms.ValidationError(
                _("No case has the reference %(reference)s."), params={"reference": reference}
            )
        return reference


class AnswerPrivacyRequestForm(CleanTextMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[(PrivacyRequestStatus.DONE, _("Carried out")), (PrivacyRequestStatus.REFUSED, _("Refused"))],
        widget=forms.RadioSelect,
    )
    answer = forms.CharField(
        label=_("Answer to the requester"),
        max_length=5_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Sent to them by e-mail and shown on their case's timeline. Required for a refusal."),
    )


class AccessLookupForm(AttachMailForm):
    """The case whose access log to read: the same reference field, checked the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reference"].help_text = _("For example KN-7F3K-Q9XM.")


class ComplianceForm(CleanTextMixin, forms.Form):
    """The compliance report's period (a month, a quarter or a year: `2026-02`, `2026-Q1`,
    `2026`, offered in a select) and regime (one, or all of them)."""

    period = forms.CharField(label=_("Period"), required=False)
    regime = forms.ModelChoiceField(
        label=_("Regime"),
        queryset=Regime.objects.all(),
        to_field_name="code",
        required=False,
        empty_label=_("All regimes"),
        error_messages={"invalid_choice": _("Choose a regime from the list.")},
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.default_period = compliance.last_full_month(today)
        self.period_choices = [(period.code, period.label) for period in compliance.recent_periods(today)]

    def clean_period(self) -> compliance.Period:
        code = self.cleaned_data["period"]
        if not code:
            return self.default_period
        period = compliance.parse_period(code)
        if period is None:
            raise forms.ValidationError(
                _("Choose a month (2026-02), a quarter (2026-Q1) or a year (2026), from %(first)s on."),
                params={"first": compliance.FIRST_YEAR},
            )
        if period.first > self.today:
            raise forms.ValidationError(_("This period has not begun yet."))
        return period


# --- Incidents ------------------------------------------------------------------------------------


class DeclareIncidentForm(CleanTextMixin, forms.Form):
    """An incident as a team lead or manager declares it: what the public page and the filing form
    say, in both languages, and what filings it matches (category, provider)."""

    title_vi = forms.CharField(label=_("Title (Vietnamese)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200)
    note_vi = forms.CharField(
        label=_("Public note (Vietnamese)"),
        max_length=5_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Shown on the incident's page and on the filing form: what is known, what is being done."
        ),
    )
    note_en = forms.CharField(
        label=_("Public note (English)"), max_length=5_000, widget=forms.Textarea(attrs={"rows": 3})
    )
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.filter(is_active=True))
    provider_name = forms.CharField(
        label=_("Service or company"),
        max_length=150,
        help_text=_("As complainants write it; case and accents are ignored when filings are matched."),
    )
    started_at = forms.DateTimeField(
        label=_("Started at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        # A year-1 start is a BC timestamp in UTC, which the database stores but cannot give back.
        validators=[not_in_future],
    )
    # The wave alert the form was opened from, if any: declaring marks it acted on.
    alert = forms.UUIDField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": _("This form is incomplete. Reload the page, then retry.")},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The hidden field's error would not be shown next to it: show it on the form.
        for error in self.errors.get("alert", []):
            self.add_error(None, error)
        return cleaned


class IncidentNewsForm(CleanTextMixin, forms.Form):
    """News on an incident, or how it was solved, in both languages: sent to every linked complainant."""

    text_vi = forms.CharField(
        label=_("Text (Vietnamese)"), max_length=5_000, widget=forms.Textarea(attrs={"rows": 3})
    )
    text_en = forms.CharField(
        label=_("Text (English)"), max_length=5_000, widget=forms.Textarea(attrs={"rows": 3})
    )


class LinkIncidentForm(forms.Form):
    """Which open incident a case (or a search's cases) is linked to; the choices are given by the page."""

    incident = forms.TypedChoiceField(label=_("Incident"), coerce=int, choices=())

    def __init__(self, *args: Any, incidents: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["incident"].choices = [(incident.pk, str(incident)) for incident in incidents]


class OtherCaseForm(CleanTextMixin, forms.Form):
    """The other case of a link between two cases: its reference, typed or sent by a related
    case's button (`related`: the one click that links one of the two to an incident, which
    names the incident too)."""

    other = forms.CharField(
        label=_("Reference of the other case"),
        max_length=64,
        error_messages={"required": _("Give the other case's reference.")},
    )

    def clean_other(self) -> str:
        # As references are written (KN-7F3K-Q9XM), however it was typed.
        return "".join(self.cleaned_data["other"].split()).upper()


class RelatedIncidentForm(OtherCaseForm):
    """A related case and the incident one of the two is linked to (the page's one click)."""

    incident = forms.IntegerField(min_value=1)


class IncidentReplyForm(CleanTextMixin, forms.Form):
    """A public reply to every linked open case, in both languages: each complainant reads theirs."""

    body_vi = forms.CharField(
        label=_("Reply (Vietnamese)"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write the reply in Vietnamese.")},
    )
    body_en = forms.CharField(
        label=_("Reply (English)"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write the reply in English.")},
    )


class IncidentResolveAllForm(CleanTextMixin, forms.Form):
    """Resolve every linked open case: the summary in both languages, and what staff found (a cause
    of the incident's category or of every category, the outcome, the remedy; a refund's amount
    goes to each case)."""

    summary_vi = forms.CharField(
        label=_("Resolution summary (Vietnamese)"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Summarise the resolution in Vietnamese.")},
    )
    summary_en = forms.CharField(
        label=_("Resolution summary (English)"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Summarise the resolution in English.")},
    )
    cause = ResolveForm.base_fields["cause"]
    outcome = ResolveForm.base_fields["outcome"]
    remedy = ResolveForm.base_fields["remedy"]
    remedy_amount = forms.DecimalField(
        label=_("Refund amount, for each case"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Only for a refund: every case resolved is refunded this amount."),
        error_messages={"invalid": _("Write the amount as a number, e.g. 150000 or 12.50.")},
    )
    remedy_currency = ResolveForm.base_fields["remedy_currency"]

    def __init__(self, *args: Any, category_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cause"].choices = [
            ("", "—"),
            *((cause.pk, cause.name) for cause in causes_for(category_id)),
        ]

    def clean(self) -> dict[str, Any]:
        return clean_findings(self, super().clean())
