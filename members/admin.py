from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from members.models import User


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "country", "institution", "is_staff", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "country"]
    search_fields = ["email", "full_name", "orcid", "institution"]
    readonly_fields = ["date_joined", "last_login", "profile_updated_at"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            _("Profile"),
            {
                "fields": [
                    "full_name",
                    "preferred_name",
                    "country",
                    "institution",
                    "position",
                    "orcid",
                    "language",
                    "directory_visible",
                    "profile_updated_at",
                ]
            },
        ),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "country", "password1", "password2"]}),
    ]


from members import admin_memberships  # noqa: F401,E402  (memberships, orders, prices, bands)
