from django.contrib import admin

from complaints.admin import ReadOnlyModelAdmin
from evidence.models import Evidence


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyModelAdmin):
    """Read-only: evidence is sealed at intake and only ever changes through the portal."""

    list_display = ("original_name", "complaint", "kind", "size", "uploader_role", "created_at")
    list_filter = ("kind", "uploader_role")
    search_fields = ("complaint__reference", "sha256", "original_name")
    list_select_related = ("complaint",)
    readonly_fields = [f.name for f in Evidence._meta.fields]
