"""Renewal reminders: the schedule as staff-editable rules, and one delivery row per (term, rule)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .memberships import Membership, Term
from .outbox import OutgoingEmail


class ReminderRuleQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


# Shown to staff under each template field, so the context is documented where it is used.
TEMPLATE_HELP = _(
    "A Django template. Available: {{ preferred_name }}, {{ full_name }}, {{ membership_type }}, "
    "{{ end_date }} (in the member's language), {{ price }} (for their country's band, with currency), "
    "{{ renew_url }}, {{ society_name }}."
)


class ReminderRule(models.Model):
    """When and what to send, relative to the end date of a member's latest term.

    Subject, text and HTML are Django templates. Context: preferred_name, full_name, membership_type,
    end_date (formatted for the member's language), price (for the member's country band, with
    currency), renew_url, society_name.
    """

    name = models.CharField(_("name"), max_length=100)
    offset_days = models.IntegerField(
        _("days from the end date"),
        help_text=_("Negative: before the end date (-30 is 30 days before); 0: on the end date; positive: after."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    subject_template = models.CharField(_("subject"), max_length=255, help_text=TEMPLATE_HELP)
    text_template = models.TextField(_("text body"), help_text=TEMPLATE_HELP)
    html_template = models.TextField(
        _("HTML body"), blank=True, help_text=_("Optional; sent as the HTML part inside the site's email layout.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ReminderRuleQuerySet.as_manager()

    class Meta:
        ordering = ["offset_days"]
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        constraints = [
            # Two active rules on the same day would compete for "the latest due rule".
            models.UniqueConstraint(
                fields=["offset_days"], condition=Q(is_active=True), name="reminderrule_active_offset_unique"
            ),
            models.CheckConstraint(
                condition=Q(offset_days__gte=-365, offset_days__lte=365), name="reminderrule_offset_within_a_year"
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        from members.services.reminders import reminder_templates_validate

        errors = reminder_templates_validate(
            subject=self.subject_template, text=self.text_template, html=self.html_template
        )
        if errors:
            raise ValidationError(errors)


class ReminderDelivery(models.Model):
    """The record that a term was reminded by a rule: at most one, ever (the unique constraint)."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="reminder_deliveries")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="reminder_deliveries")
    rule = models.ForeignKey(ReminderRule, on_delete=models.PROTECT, related_name="deliveries")
    email = models.OneToOneField(OutgoingEmail, on_delete=models.PROTECT, related_name="reminder_delivery")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("reminder delivery")
        verbose_name_plural = _("reminder deliveries")
        constraints = [models.UniqueConstraint(fields=["term", "rule"], name="reminderdelivery_once_per_term_rule")]

    def __str__(self):
        return f"{self.rule} → {self.membership}"


class JobHeartbeat(models.Model):
    """When a periodic job last finished, so /healthz/ can tell a job that stopped running."""

    name = models.CharField(_("job"), max_length=100, primary_key=True)
    last_run_at = models.DateTimeField(_("last run"))
    last_result = models.JSONField(_("last result"), default=dict, blank=True)

    class Meta:
        verbose_name = _("job heartbeat")
        verbose_name_plural = _("job heartbeats")

    def __str__(self):
        return f"{self.name}: {self.last_run_at:%Y-%m-%d %H:%M}"
