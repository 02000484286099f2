"""SLA policies, business calendars, the escalation ladder and the record of every bump."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.times import day
from complaints.models import Category, Complaint, Complexity, localized
from escalation import sla


class BusinessCalendar(models.Model):
    """When the SLA clock runs: weekly working periods in a time zone, minus holidays."""

    name_vi = models.CharField(_("name (Vietnamese)"), max_length=100, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Ho_Chi_Minh")

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized(self.name_vi, self.name_en)

    def as_sla_calendar(self) -> sla.Calendar:
        """The pure-function view of this calendar (two queries: periods and holidays)."""
        hours: dict[int, list[tuple]] = {}
        for period in self.periods.all():
            hours.setdefault(period.weekday, []).append((period.start, period.end))
        return sla.Calendar(
            time_zone=self.time_zone,
            hours={day: tuple(intervals) for day, intervals in hours.items()},
            holidays=frozenset(self.holidays.values_list("date", flat=True)),
        )


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WorkingPeriod(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"), help_text=_("00:00 means midnight at the end of the day."))

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name = _("working period")
        verbose_name_plural = _("working periods")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_day")]

    def __str__(self) -> str:
        return f"{day(self.date)} {self.name}"

    @property
    def name(self) -> str:
        return localized(self.name_vi, self.name_en)


class SlaPolicy(models.Model):
    """Targets for one (category, complexity): first response, resolution, and when to warn."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="sla_policies")
    complexity = models.CharField(_("complexity"), max_length=10, choices=Complexity.choices)
    first_response_target = models.DurationField(_("first response within"), default=timedelta(hours=24))
    resolution_target = models.DurationField(_("resolution within"), default=timedelta(days=3))
    warning_ratio = models.DecimalField(
        _("warn at"),
        max_digits=3,
        decimal_places=2,
        default=0.75,
        help_text=_("Share of the target after which the handler is warned, e.g. 0.75."),
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("business calendar"),
        help_text=_("Without a calendar the clock counts wall-clock hours."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "complexity"], name="sla_policy_per_category_complexity"
            ),
            models.CheckConstraint(
                condition=Q(warning_ratio__gt=0, warning_ratio__lte=1), name="sla_policy_warning_ratio_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} / {self.get_complexity_display()}"


class DayUnit(models.TextChoices):
    WORKING = sla.WORKING_DAYS, _("working days")
    CALENDAR = sla.CALENDAR_DAYS, _("calendar days")


class Regime(models.Model):
    """A law or a regulator's rules for complaints: the deadlines it sets, on a business
    calendar. Attached to categories (`Category.regime`); editable in the admin."""

    code = models.SlugField(_("code"), unique=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150)
    requirement_vi = models.TextField(_("what it requires (Vietnamese)"), max_length=2_000)
    requirement_en = models.TextField(_("what it requires (English)"), max_length=2_000)
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        related_name="regimes",
        verbose_name=_("business calendar"),
        help_text=_("Its working days and holidays, in its time zone: where the regime's days are counted."),
    )
    rolls_to_working_day = models.BooleanField(
        _("a period ending on a day off ends on the next working day"),
        default=False,
        help_text=_("As Vietnamese law reads a period in days (Civil Code, Art. 148)."),
    )
    next_route_vi = models.TextField(
        _("the complainant's next route (Vietnamese)"), max_length=2_000, blank=True
    )
    next_route_en = models.TextField(
        _("the complainant's next route (English)"),
        max_length=2_000,
        blank=True,
        help_text=_(
            "Where the complainant can take the complaint after the final response (an ombudsman, an "
            "authority), within what time: the final response letter cannot be sent without it."
        ),
    )

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("regime")
        verbose_name_plural = _("regimes")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized(self.name_vi, self.name_en)

    @property
    def requirement(self) -> str:
        return localized(self.requirement_vi, self.requirement_en)

    def next_route_in(self, language: str) -> str:
        return self.next_route_vi if language == "vi" else self.next_route_en


class DeadlineKind(models.TextChoices):
    ACKNOWLEDGE = sla.ACKNOWLEDGE, _("Acknowledge receipt")
    ACCEPT = sla.ACCEPT, _("Accept the complaint")
    FINAL_RESPONSE = sla.FINAL_RESPONSE, _("Final response")


# A regime's deadlines on a complaint, per kind: the columns that hold each (set by
# escalation.clock and the sweep), and the one whose date meets it (the portal's notice of
# receipt carries the regime's acknowledgement; staff accept the case when they take it up;
# the first resolution is the final response, kept through a dispute).
REGULATORY_DUE = {kind: f"{kind}_due_at" for kind in sla.REGULATORY_KINDS}
REGULATORY_WARNING = {kind: f"{kind}_warning_at" for kind in sla.REGULATORY_KINDS}
REGULATORY_WARNED = {kind: f"{kind}_warned_at" for kind in sla.REGULATORY_KINDS}
REGULATORY_BREACHED = {kind: f"{kind}_breached_at" for kind in sla.REGULATORY_KINDS}
REGULATORY_MET = {
    sla.ACKNOWLEDGE: "acknowledged_at",
    sla.ACCEPT: "accepted_at",
    sla.FINAL_RESPONSE: "final_response_at",
}


class CountedFrom(models.TextChoices):
    RECEIPT = "receipt", _("the complaint's receipt")
    ACCEPTANCE = "acceptance", _("the complaint's acceptance")


class RegimeDeadline(models.Model):
    """One deadline of a regime: so many working or calendar days after receipt (or after
    the complaint's acceptance), more for a complex case where the regime allows it."""

    regime = models.ForeignKey(Regime, on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(_("deadline"), max_length=20, choices=DeadlineKind.choices)
    days = models.PositiveSmallIntegerField(_("days"))
    days_if_complex = models.PositiveSmallIntegerField(
        _("days for a complex case"),
        null=True,
        blank=True,
        help_text=_("Empty: a complex case has the same number of days."),
    )
    unit = models.CharField(_("counted in"), max_length=10, choices=DayUnit.choices)
    counted_from = models.CharField(
        _("counted from"), max_length=10, choices=CountedFrom.choices, default=CountedFrom.RECEIPT
    )
    pausable = models.BooleanField(
        _("paused while the complainant is asked for information"),
        default=False,
        help_text=_("Only where the regime allows it; otherwise its clock runs whatever the case waits for."),
    )

    class Meta:
        ordering = ["regime", "kind"]
        verbose_name = _("regulatory deadline")
        verbose_name_plural = _("regulatory deadlines")
        constraints = [
            models.UniqueConstraint(fields=["regime", "kind"], name="regime_deadline_once_per_kind"),
            models.CheckConstraint(
                condition=Q(days__gte=1),
                name="regime_deadline_counts_days",
                violation_error_message=_("A deadline counts at least one day."),
            ),
            models.CheckConstraint(
                condition=Q(days_if_complex__isnull=True) | Q(days_if_complex__gte=models.F("days")),
                name="regime_deadline_complex_not_shorter",
                violation_error_message=_("A complex case cannot have fewer days than a plain one."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.regime}: {self.get_kind_display()}"

    def days_for(self, *, complex_case: bool) -> int:
        return self.days_if_complex if complex_case and self.days_if_complex else self.days

    def period(self, start: datetime, calendar: sla.Calendar, *, complex_case: bool = False) -> sla.DayPeriod:
        """Where this deadline falls for a complaint received (or accepted) at `start`."""
        return sla.add_days(
            start,
            self.days_for(complex_case=complex_case),
            self.unit,
            calendar,
            roll_to_working_day=self.regime.rolls_to_working_day,
        )


class EscalationLevel(models.Model):
    """One rung of the ladder: who owns a case at this level and how long it may sit there."""

    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80)
    group = models.ForeignKey(Group, on_delete=models.PROTECT, verbose_name=_("group"))
    climb_after = models.DurationField(
        _("climb after"),
        null=True,
        blank=True,
        help_text=_("How long a case may stay at this level past its deadline before it climbs again."),
    )
    is_manager_facing = models.BooleanField(_("manager queue"), default=False)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized(self.name_vi, self.name_en)


class Reason(models.TextChoices):
    FIRST_RESPONSE_BREACHED = "first_response_breached", _("First response deadline missed")
    RESOLUTION_BREACHED = "resolution_breached", _("Resolution deadline missed")
    CLIMB = "climb", _("Still unresolved at this level")
    COMPLAINANT_REQUEST = "complainant_request", _("Requested by the complainant")
    MANUAL = "manual", _("Escalated by staff")
    REGULATORY_BREACHED = "regulatory_breached", _("A deadline set by law or a regulator was missed")
    DE_ESCALATION = "de_escalation", _("De-escalated by a manager")


class Escalation(models.Model):
    """One move on the ladder. `trigger_key` makes each trigger fire at most once."""

    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="escalations", db_index=False
    )
    from_level = models.PositiveSmallIntegerField()
    to_level = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=32, choices=Reason.choices)
    deadline_at = models.DateTimeField(null=True, blank=True)
    trigger_key = models.CharField(max_length=120)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    note = models.TextField(blank=True, max_length=5_000)
    # When the move fell due (a deadline, or a rung's time limit running out), kept apart
    # from when it was carried out: a sweep after a gap stamps the first, and later climbs
    # count from it. A move asked for by a person falls due when it is asked for.
    due_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["complaint", "created_at"], name="escalation_complaint_idx")]
        # A constraint rather than unique=True: the key is only ever compared whole, so
        # PostgreSQL needs no second (LIKE) index, which every sweep insert would maintain.
        constraints = [models.UniqueConstraint(fields=["trigger_key"], name="escalation_trigger_once")]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.from_level} -> {self.to_level} ({self.reason})"


class LetterKind(models.TextChoices):
    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement of receipt")
    HOLDING = "holding", _("Holding letter")
    FINAL_RESPONSE = "final_response", _("Final response")


class LetterTemplate(models.Model):
    """A letter a regime requires, in one language: its subject and text, with {placeholders}
    filled from the complaint (escalation.letters). Edited in the admin, with the regime."""

    regime = models.ForeignKey(Regime, on_delete=models.CASCADE, related_name="letters")
    kind = models.CharField(_("letter"), max_length=20, choices=LetterKind.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"), max_length=10_000)

    class Meta:
        ordering = ["regime", "kind", "language"]
        verbose_name = _("letter template")
        verbose_name_plural = _("letter templates")
        constraints = [
            models.UniqueConstraint(fields=["regime", "kind", "language"], name="letter_once_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.regime}: {self.get_kind_display()} ({self.language})"
