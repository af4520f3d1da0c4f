from django.contrib import admin

from guidelines.models import AlertSubscription


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(admin.ModelAdmin):
    """Read only: subscribers follow, confirm and cancel through their signed links and their profile."""

    list_display = ("email", "guideline", "provision", "language", "status", "created_at", "confirmed_at")
    list_filter = ("status", "language", "guideline")
    search_fields = ("email",)
    list_select_related = ("guideline", "provision")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
