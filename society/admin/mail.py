from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from society.admin.base import BoundedChangeListMixin, LargeTableAdminMixin, LogAdminMixin
from society.models import OutgoingEmail, SuppressedAddress
from society.services.mail import outgoing_email_resend


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(LogAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
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
        "claimed_by",
        "lease_expires_at",
        "sent_at",
        "text_body",
        "html_body",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        return queryset.searched_by_staff(search_term), False

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


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(BoundedChangeListMixin, admin.ModelAdmin):
    """Addresses that refused permanently. Deleting an entry (after the member fixed their mailbox) lets
    announcements and alerts reach it again."""

    list_display = ["address", "reason", "created_at"]
    search_fields = ["address"]
    date_hierarchy = "created_at"
    fields = ["address", "reason", "email", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
