from django.contrib import admin

from complaints.models import (
    CannedReply,
    Category,
    Complaint,
    ComplaintEvent,
    ContactAttempt,
    Notification,
    Subcategory,
)


class SubcategoryInline(admin.TabularInline):
    model = Subcategory
    extra = 0
    fields = ("slug", "name_vi", "name_en", "default_complexity", "position", "is_active")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name_vi", "name_en", "slug", "position", "is_active")
    list_editable = ("position", "is_active")
    inlines = [SubcategoryInline]


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


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    list_display = ("template", "email", "language", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "template")
    readonly_fields = [f.name for f in Notification._meta.fields]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Prepared answers staff pick on the case page, in Vietnamese and English."""

    list_display = ("title_vi", "title_en", "active", "ordering")
    list_editable = ("active", "ordering")
    list_filter = ("active",)
    search_fields = ("title_vi", "title_en", "body_vi", "body_en")
    fields = ("title_vi", "title_en", "body_vi", "body_en", "active", "ordering")
