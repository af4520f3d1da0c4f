"""Admin for reminder rules (with a preview for a chosen member) and the reminders each membership was sent."""

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from members.admin.base import RecordInline
from members.forms.reminders import PreviewForm
from members.models import ReminderDelivery, ReminderRule, ReminderRuleTranslation
from members.services.reminders import CompiledRule, reminder_context, renewal_price

# The whole policy of the framed HTML part: an email carries its own inline styles (mail clients ignore
# stylesheets) and images by absolute URL; nothing else runs or loads.
PREVIEW_EMAIL_CSP = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": [SELF, "data:", "https:"],
    "frame-ancestors": [SELF],
    "base-uri": [NONE],
    "form-action": [NONE],
    "sandbox": [True],
}


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
        view = self.admin_site.admin_view
        return [
            path("<int:rule_id>/preview/", view(self.preview_view), name="members_reminderrule_preview"),
            path(
                "<int:rule_id>/preview/email/", view(self.preview_email_view), name="members_reminderrule_preview_email"
            ),
            *super().get_urls(),
        ]

    def _preview(self, request, rule_id):
        """The rule, the member picked in ?member= and the email as that member would get it (or None)."""
        rule = get_object_or_404(ReminderRule, pk=rule_id)
        if not self.has_view_permission(request, rule):
            raise PermissionDenied
        form = PreviewForm(request.GET or None, admin_site=self.admin_site)
        if not form.is_valid():
            return rule, form, None
        user = form.cleaned_data["member"]
        term = user.membership.current_term()
        with translation.override(user.language):
            price = renewal_price(user=user, term=term)
            subject, text, html = CompiledRule.of(rule).render(reminder_context(user=user, term=term, price=price))
        return rule, form, {"subject": subject, "text": text, "html": html, "member": user}

    def preview_view(self, request, rule_id):
        rule, form, rendered = self._preview(request, rule_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Preview: %(rule)s") % {"rule": rule},
            "rule": rule,
            "form": form,
            "rendered": rendered,
            "email_url": f"{reverse('admin:members_reminderrule_preview_email', args=[rule.pk])}?{request.GET.urlencode()}",
        }
        return TemplateResponse(request, "admin/members/reminderrule/preview.html", context)

    @method_decorator(xframe_options_sameorigin)
    @method_decorator(csp(PREVIEW_EMAIL_CSP))
    def preview_email_view(self, request, rule_id):
        """The HTML part alone, framed by the preview page: the email's inline styles are allowed here only, in a
        sandbox without scripts, so the admin's own policy stays strict."""
        _rule, _form, rendered = self._preview(request, rule_id)
        if rendered is None or not rendered["html"]:
            raise Http404
        return HttpResponse(rendered["html"])


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
