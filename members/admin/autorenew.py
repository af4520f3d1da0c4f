"""Admin for auto-renew: the schedule staff set, and which members renew automatically (read-only: the
card is the member's to add, and only they or a failed charge turn it on or off)."""

from django.contrib import admin
from django.shortcuts import redirect

from members.models import AutoRenew, AutoRenewSettings


@admin.register(AutoRenewSettings)
class AutoRenewSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "charge_days_before_end", "updated_at"]
    fields = ["charge_days_before_end"]

    def has_add_permission(self, request):
        return False  # the single row is created on first use

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        AutoRenewSettings.current()
        return super().changelist_view(request, extra_context)

    def response_change(self, request, obj):
        return redirect("admin:members_autorenewsettings_changelist")


@admin.register(AutoRenew)
class AutoRenewAdmin(admin.ModelAdmin):
    list_display = [
        "membership",
        "enabled",
        "card_brand",
        "card_last4",
        "card_exp_month",
        "card_exp_year",
        "updated_at",
    ]
    list_filter = ["enabled"]
    list_select_related = ["membership__user"]
    search_fields = ["membership__user__email", "membership__user__full_name"]
    readonly_fields = [field.name for field in AutoRenew._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
