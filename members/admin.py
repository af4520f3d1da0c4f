from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from members.models import OutgoingEmail, User
from members.services.outbox import outgoing_email_resend


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


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = ["to", "subject", "kind", "status", "attempts", "created_at", "sent_at", "next_attempt_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "subject", "message_id", "related_key"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    fields = [
        "to",
        "reply_to",
        "subject",
        "kind",
        "related_key",
        "status",
        "attempts",
        "last_error",
        "message_id",
        "idempotency_key",
        "created_at",
        "queued_at",
        "next_attempt_at",
        "sent_at",
        "text_body",
        "html_body",
    ]
    readonly_fields = fields
    show_full_result_count = False  # a COUNT(*) over the whole outbox on every page is wasted work

    # The outbox is a log: rows are written by services only, never edited or deleted by hand.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Re-send selected failed emails"), permissions=["view"])
    def resend(self, request, queryset):
        count = outgoing_email_resend(email_ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - count
        self.message_user(
            request,
            ngettext("%(count)d email queued again.", "%(count)d emails queued again.", count) % {"count": count},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d email was not failed and was left alone.",
                    "%(count)d emails were not failed and were left alone.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


from members import admin_reminders  # noqa: E402,F401  (registers the reminder admins)
