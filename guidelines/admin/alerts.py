from django.contrib import admin

from guidelines.models import AlertSubscription
from society.admin.base import LogAdminMixin


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(LogAdminMixin, admin.ModelAdmin):
    """Read only: subscribers follow, confirm and cancel through their signed links and their profile."""

    list_display = ("email", "guideline", "provision", "language", "status", "created_at", "confirmed_at")
    list_filter = ("status", "language", "guideline")
    search_fields = ("email",)
    list_select_related = ("guideline", "provision")
