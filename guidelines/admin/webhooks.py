"""Webhook endpoints (staff register an institution's URL and scope and hand it the generated secret) and the
delivery log, with "retry now"."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from guidelines.models import WebhookDelivery, WebhookEndpoint
from guidelines.services.webhooks import (
    webhook_deliveries_retry_now,
    webhook_endpoint_save,
    webhook_endpoint_validate,
)
from society.admin.base import BoundedChangeListMixin, LogAdminMixin


class WebhookEndpointForm(forms.ModelForm):
    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "guideline", "provision", "is_active"]
        # A URL typed without a scheme becomes https://, the only scheme accepted outside tests.
        field_classes = {"url": partial(forms.URLField, assume_scheme="https")}

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            # The instance is filled only after clean(): check what was typed, with the service's own checks.
            typed = WebhookEndpoint(**{name: cleaned.get(name) for name in ("url", "guideline", "provision")})
            try:
                webhook_endpoint_validate(endpoint=typed)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "guideline", "provision", "is_active", "created_at"]
    list_filter = ["is_active", "guideline"]
    list_select_related = ["guideline", "provision"]
    search_fields = ["name", "url"]
    autocomplete_fields = ["guideline", "provision"]
    fields = ["name", "url", "guideline", "provision", "is_active", "secret", "created_at"]
    readonly_fields = ["secret", "created_at"]

    def save_model(self, request, obj, form, change):
        webhook_endpoint_save(endpoint=obj)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(LogAdminMixin, BoundedChangeListMixin, admin.ModelAdmin):
    list_display = [
        "endpoint",
        "edition",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    list_filter = ["status", "endpoint"]
    list_select_related = ["endpoint", "edition__guideline"]
    search_fields = ["endpoint__name", "delivery_id"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    fields = [
        "endpoint",
        "edition",
        "delivery_id",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "last_response",
        "last_error",
        "created_at",
        "queued_at",
        "next_attempt_at",
        "delivered_at",
        "claimed_by",
        "lease_expires_at",
        "body",
    ]
    readonly_fields = fields
    show_full_result_count = False

    @admin.action(description=_("Retry selected deliveries now"), permissions=["view"])
    def retry_now(self, request, queryset):
        count = webhook_deliveries_retry_now(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d delivery queued.", "%(count)d deliveries queued.", count) % {"count": count},
            messages.SUCCESS,
        )
        skipped = queryset.count() - count
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d delivery was delivered or is being sent, and was left alone.",
                    "%(count)d deliveries were delivered or are being sent, and were left alone.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
