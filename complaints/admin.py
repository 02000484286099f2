from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from complaints.models import (
    AccessRecord,
    CannedReply,
    Category,
    Cause,
    Complaint,
    ComplaintEvent,
    ContactAttempt,
    InboundMessage,
    Incident,
    IncidentUpdate,
    Notification,
    ReplyToken,
    Subcategory,
    WaveAlert,
)
from escalation.policies import forget_policies


class SubcategoryInline(admin.TabularInline):
    model = Subcategory
    extra = 0
    fields = ("slug", "name_vi", "name_en", "default_complexity", "position", "is_active")


@admin.register(Cause)
class CauseAdmin(admin.ModelAdmin):
    list_display = ("name_vi", "name_en", "slug", "category", "position", "is_active")
    list_editable = ("position", "is_active")
    list_filter = ("category", "is_active")
    list_select_related = ("category",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name_vi", "name_en", "slug", "regime", "retention_years", "position", "is_active")
    list_editable = ("regime", "retention_years", "position", "is_active")
    list_select_related = ("regime",)
    inlines = [SubcategoryInline]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        forget_policies()  # the regime a category is under: this process at once, others within a minute


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """An audit record: listed and read in the admin, never added or edited there."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    model = ComplaintEvent
    fields = ("created_at", "kind", "actor_role", "actor", "public", "body")
    readonly_fields = fields


class ContactInline(ReadOnlyInline):
    model = ContactAttempt
    fields = ("contacted_at", "channel", "with_whom", "their_reference", "summary")
    readonly_fields = fields


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyModelAdmin):
    """Read-mostly: changes to a case go through the portal's services, which audit them."""

    list_display = ("reference", "subject", "category", "complexity", "status", "submitted_at")
    list_filter = ("status", "complexity", "category")
    search_fields = ("reference", "contact_email", "subject")
    date_hierarchy = "submitted_at"
    inlines = [ContactInline, EventInline]
    list_select_related = ("category",)
    fields = (
        "reference",
        "status",
        "category",
        "subject",
        "contact_name",
        "contact_email",
        "submitted_at",
        "status_changed_at",
        "consent_version",
        "consent_given_at",
        "legal_hold_reason",
        "legal_hold_since",
        "anonymised_at",
    )
    readonly_fields = tuple(name for name in fields if name != "legal_hold_reason")

    def has_change_permission(self, request, obj=None) -> bool:
        # Only the legal hold is set here (by whoever may change complaints): everything
        # else about a case goes through the portal's services.
        return request.user.has_perm("complaints.change_complaint")

    def save_model(self, request, obj, form, change) -> None:
        if "legal_hold_reason" in form.changed_data:
            obj.legal_hold_reason = obj.legal_hold_reason.strip()
            obj.legal_hold_since = timezone.now() if obj.legal_hold_reason else None
            Complaint.objects.filter(pk=obj.pk).update(
                legal_hold_reason=obj.legal_hold_reason, legal_hold_since=obj.legal_hold_since
            )


@admin.register(AccessRecord)
class AccessRecordAdmin(ReadOnlyModelAdmin):
    """The access log, read only: nobody adds, changes or deletes an entry, an admin included."""

    list_display = ("at", "complaint", "kind", "role", "user", "ip")
    list_filter = ("kind", "role")
    search_fields = ("complaint__reference", "user__username", "ip")
    list_select_related = ("complaint", "user")
    readonly_fields = [f.name for f in AccessRecord._meta.fields]
    # No date hierarchy and no count of the whole table: the log grows without end.
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    list_display = ("template", "email", "language", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "template")
    readonly_fields = [f.name for f in Notification._meta.fields]


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyModelAdmin):
    """Every e-mail received, as recorded; staff act on those waiting at /staff/mail/."""

    list_display = ("received_at", "door", "from_address", "subject", "status", "reason")
    list_filter = ("status", "reason", "door")
    search_fields = ("from_address", "subject", "message_id")
    readonly_fields = [f.name for f in InboundMessage._meta.fields]


@admin.register(ReplyToken)
class ReplyTokenAdmin(ReadOnlyModelAdmin):
    """Reply addresses issued (hashes only). Revoking one stops replies to it from landing."""

    list_display = ("complaint", "email", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("email", "complaint__reference")
    readonly_fields = [f.name for f in ReplyToken._meta.fields]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected reply addresses"))
    def revoke(self, request, queryset) -> None:
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)s reply address revoked.", "%(count)s reply addresses revoked.", revoked)
            % {"count": revoked},
        )


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Prepared answers staff pick on the case page, in Vietnamese and English."""

    list_display = ("title_vi", "title_en", "active", "ordering")
    list_editable = ("active", "ordering")
    list_filter = ("active",)
    search_fields = ("title_vi", "title_en", "body_vi", "body_en")
    fields = ("title_vi", "title_en", "body_vi", "body_en", "active", "ordering")


class IncidentUpdateInline(ReadOnlyInline):
    model = IncidentUpdate
    fields = ("at", "by", "text_vi", "text_en")
    readonly_fields = fields


@admin.register(Incident)
class IncidentAdmin(ReadOnlyModelAdmin):
    """Incidents are declared, updated and resolved on the staff pages (/staff/incidents/), which
    tell the linked complainants; the admin only reads them."""

    list_display = ("slug", "title_vi", "provider_name", "category", "status", "started_at")
    list_filter = ("status", "category")
    search_fields = ("slug", "title_vi", "title_en", "provider_name")
    inlines = [IncidentUpdateInline]


@admin.register(WaveAlert)
class WaveAlertAdmin(ReadOnlyModelAdmin):
    """Waves are noticed by beat (complaints.services.waves) and handled from the staff queues'
    banner (dismissed, or an incident declared); the admin only reads them."""

    list_display = ("provider_name", "category", "window_start", "count", "baseline", "state", "incident")
    list_filter = ("state", "category")
    list_select_related = ("category", "incident")
    search_fields = ("provider_name", "provider_key")
