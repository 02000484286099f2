from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from common.times import duration
from complaints.admin import ReadOnlyModelAdmin
from escalation import letters
from escalation.models import (
    BusinessCalendar,
    Escalation,
    EscalationLevel,
    Holiday,
    LetterTemplate,
    Regime,
    RegimeDeadline,
    SlaPolicy,
    WorkingPeriod,
)
from escalation.policies import forget_policies


class WorkingPeriodInline(admin.TabularInline):
    model = WorkingPeriod
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


class ForgetCachedPoliciesMixin:
    """This process forgets its cached policies at once; other processes within a minute."""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        forget_policies()

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        forget_policies()


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ForgetCachedPoliciesMixin, admin.ModelAdmin):
    list_display = ("name_vi", "name_en", "time_zone")
    inlines = [WorkingPeriodInline, HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ForgetCachedPoliciesMixin, admin.ModelAdmin):
    list_display = (
        "category",
        "complexity",
        "first_response_within",
        "resolution_within",
        "warning_ratio",
        "calendar",
    )
    list_filter = ("complexity", "calendar")
    list_select_related = ("category", "calendar")

    # Lengths of time as the portal writes them ("3 days"), not str(timedelta) ("3 days, 0:00:00").
    @admin.display(
        description=SlaPolicy._meta.get_field("first_response_target").verbose_name,
        ordering="first_response_target",
    )
    def first_response_within(self, policy: SlaPolicy) -> str:
        return duration(policy.first_response_target)

    @admin.display(
        description=SlaPolicy._meta.get_field("resolution_target").verbose_name, ordering="resolution_target"
    )
    def resolution_within(self, policy: SlaPolicy) -> str:
        return duration(policy.resolution_target)


@admin.register(EscalationLevel)
class EscalationLevelAdmin(ForgetCachedPoliciesMixin, admin.ModelAdmin):
    list_display = ("rank", "name_vi", "name_en", "group", "climbs_after", "is_manager_facing")

    @admin.display(
        description=EscalationLevel._meta.get_field("climb_after").verbose_name, ordering="climb_after"
    )
    def climbs_after(self, level: EscalationLevel) -> str | None:
        return duration(level.climb_after) or None  # None: the admin's sign for "not set"


class RegimeDeadlineInline(admin.TabularInline):
    model = RegimeDeadline
    extra = 0


class LetterTemplateForm(forms.ModelForm):
    """A letter's text names only placeholders the portal fills, and a final response all its
    required parts (escalation.letters)."""

    class Meta:
        model = LetterTemplate
        fields = ("kind", "language", "subject", "body")
        widgets = {"body": forms.Textarea(attrs={"rows": 8, "cols": 80})}

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("kind"):
            for error in letters.template_errors(
                cleaned["kind"], cleaned.get("subject", ""), cleaned.get("body", "")
            ):
                self.add_error("body", error)
        return cleaned


class LetterTemplateInline(admin.StackedInline):
    model = LetterTemplate
    form = LetterTemplateForm
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        names = ", ".join(f"{{{name}}} ({label})" for name, label in letters.PLACEHOLDERS.items())
        kwargs.setdefault("help_texts", {"body": _("Placeholders: %(names)s.") % {"names": names}})
        return super().get_formset(request, obj, **kwargs)


@admin.register(Regime)
class RegimeAdmin(ForgetCachedPoliciesMixin, admin.ModelAdmin):
    list_display = ("name_vi", "name_en", "code", "calendar", "rolls_to_working_day", "attached_to")
    list_select_related = ("calendar",)
    inlines = [RegimeDeadlineInline, LetterTemplateInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    @admin.display(description=_("categories"))
    def attached_to(self, regime: Regime) -> str | None:
        return ", ".join(category.name for category in regime.categories.all()) or None


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyModelAdmin):
    """The record of every move on the ladder: read-only."""

    list_display = ("complaint", "from_level", "to_level", "reason", "deadline_at", "created_at")
    list_filter = ("reason", "to_level")
    search_fields = ("complaint__reference",)
    list_select_related = ("complaint",)
    readonly_fields = [f.name for f in Escalation._meta.fields]
