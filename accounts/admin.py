from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Portal"), {"fields": ("preferred_language", "is_demo")}),
    )
    list_display = ("username", "email", "first_name", "is_staff", "is_demo", "preferred_language")
    list_filter = (*DjangoUserAdmin.list_filter, "is_demo", "preferred_language")
