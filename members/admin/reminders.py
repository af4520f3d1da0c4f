"""Admin for reminder rules (with a preview for a chosen member) and the reminders each membership was sent."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from members.admin.base import RecordInline
from members.forms.reminders import PreviewForm
from members.models import ReminderDelivery, ReminderRule, ReminderRuleTranslation
from members.services.reminders import CompiledRule, reminder_context, renewal_price


class ReminderRuleTranslationInline(admin.StackedInline):
    """The rule's text in each offered language; a language left out is sent the English above."""

    model = ReminderRuleTranslation
    extra = 0
    fields = ["language", "subject_template", "text_template", "html_template"]


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "offset_days", "is_active", "missing_languages", "updated_at", "preview_link"]
    list_filter = ["is_active"]
    ordering = ["offset_days"]
    fieldsets = [
        (None, {"fields": ["name", "offset_days", "is_active"]}),
        # Each template field's help text lists the variables it may use (TEMPLATE_HELP in members/models/reminders.py).
        (_("Message in English"), {"fields": ["subject_template", "text_template", "html_template"]}),
        (_("Languages"), {"fields": ["missing_languages"]}),
    ]
    readonly_fields = ["missing_languages"]
    inlines = [ReminderRuleTranslationInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("translations")

    @admin.display(description=_("languages without a translation (sent in English)"))
    def missing_languages(self, obj):
        if obj.pk is None:
            return ""
        labels = dict(ReminderRuleTranslation._meta.get_field("language").choices)
        missing = [str(labels[code]) for code in obj.missing_languages()]
        return ", ".join(missing) if missing else _("none: every language has its text")

    @admin.display(description=_("Preview"))
    def preview_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:members_reminderrule_preview", args=[obj.pk]), _("Preview")
        )

    def get_urls(self):
        preview = path(
            "<int:rule_id>/preview/",
            self.admin_site.admin_view(self.preview_view),
            name="members_reminderrule_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request, rule_id):
        rule = get_object_or_404(ReminderRule, pk=rule_id)
        if not self.has_view_permission(request, rule):
            raise PermissionDenied
        form = PreviewForm(request.GET or None)
        rendered = None
        if form.is_valid():
            user = form.cleaned_data["member"]
            term = user.membership.current_term()
            with translation.override(user.language):
                price = renewal_price(user=user, term=term)
                subject, text, html = CompiledRule.of(rule).render(reminder_context(user=user, term=term, price=price))
            rendered = {"subject": subject, "text": text, "html": html, "member": user}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Preview: %(rule)s") % {"rule": rule},
            "rule": rule,
            "form": form,
            "rendered": rendered,
        }
        return TemplateResponse(request, "admin/members/reminderrule/preview.html", context)


class DeliveryEmailColumns:
    """The outcome of a delivery's email (in the society's outbox), for the changelist and the inline."""

    @admin.display(description=_("email"), ordering="email__status")
    def email_status(self, obj):
        url = reverse("admin:society_outgoingemail_change", args=[obj.email_id])
        return format_html('<a href="{}">{}</a>', url, obj.email.get_status_display())

    @admin.display(description=_("sent"), ordering="email__sent_at")
    def email_sent_at(self, obj):
        return obj.email.sent_at


@admin.register(ReminderDelivery)
class ReminderDeliveryAdmin(DeliveryEmailColumns, admin.ModelAdmin):
    list_display = ["membership", "rule", "term_end", "email_status", "email_sent_at", "created_at"]
    list_filter = ["rule", "email__status"]
    search_fields = ["membership__user__email", "membership__user__full_name"]
    list_select_related = ["membership__user", "rule", "term", "email"]
    raw_id_fields = ["membership", "term", "email"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("term ends"), ordering="term__end")
    def term_end(self, obj):
        return obj.term.end


class ReminderDeliveryInline(DeliveryEmailColumns, RecordInline):
    """Every reminder a membership was sent, with its rule, time and outcome. For MembershipAdmin.inlines."""

    model = ReminderDelivery
    fields = ["rule", "term", "created_at", "email_status", "email_sent_at", "email_error"]

    def get_queryset(self, request):
        # str(delivery) and str(term) name the member.
        return (
            super().get_queryset(request).select_related("rule", "term__membership__user", "email", "membership__user")
        )

    @admin.display(description=_("last error"))
    def email_error(self, obj):
        return obj.email.last_error
