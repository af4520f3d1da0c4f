"""Renewal reminders: the schedule as staff-editable rules, and one delivery row per (term, rule)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.template import engines
from django.utils.translation import gettext_lazy as _

from society.models import OutgoingEmail

from .memberships import Membership, Term


class ReminderRuleQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


# Shown to staff under each template field, so the context is documented where it is used.
TEMPLATE_HELP = _(
    "A Django template. Available: {{ preferred_name }}, {{ full_name }}, {{ membership_type }}, "
    "{{ end_date }} (in the member's language), {{ price }} (for their country's band, with currency), "
    "{{ renew_url }}, {{ society_name }}."
)


# What a template is rendered with when staff save it: every documented variable, with plausible values.
SAMPLE_CONTEXT = {
    "preferred_name": "Ana",
    "full_name": "Ana María Souza",
    "membership_type": "Full",
    "end_date": "31 December 2026",
    "price": "120.00 USD",
    "renew_url": "https://society.example/membership/renew/",
    "society_name": "Society",
}
MSG_TEMPLATE_DOES_NOT_RENDER = _("This template does not render: %(error)s")


def validate_reminder_template(source: str) -> None:
    """Refuse a template that does not compile, or does not render with the documented context."""
    try:
        engines["django"].from_string(source or "").render(SAMPLE_CONTEXT)
    except Exception as exc:  # any failure to render is the staff member's to fix, with its reason
        raise ValidationError(MSG_TEMPLATE_DOES_NOT_RENDER, code="template", params={"error": exc}) from exc


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
    subject_template = models.CharField(
        _("subject"), max_length=255, help_text=TEMPLATE_HELP, validators=[validate_reminder_template]
    )
    text_template = models.TextField(_("text body"), help_text=TEMPLATE_HELP, validators=[validate_reminder_template])
    html_template = models.TextField(
        _("HTML body"),
        blank=True,
        help_text=_("Optional; sent as the HTML part inside the site's email layout."),
        validators=[validate_reminder_template],
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

    def missing_languages(self) -> list[str]:
        """Codes of the offered languages this rule has no text for (uses prefetched `translations`)."""
        present = {translation.language for translation in self.translations.all()}
        return [code for code, _name in TRANSLATION_LANGUAGES if code not in present]


# The rule's own fields are the English text, and the fallback for a language without a translation.
TRANSLATION_LANGUAGES = [(code, name) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class ReminderRuleTranslation(models.Model):
    """A rule's subject and bodies in one language; a member whose language has none gets the English."""

    rule = models.ForeignKey(
        ReminderRule, verbose_name=_("reminder rule"), on_delete=models.CASCADE, related_name="translations"
    )
    language = models.CharField(_("language"), max_length=10, choices=TRANSLATION_LANGUAGES)
    subject_template = models.CharField(
        _("subject"), max_length=255, help_text=TEMPLATE_HELP, validators=[validate_reminder_template]
    )
    text_template = models.TextField(_("text body"), help_text=TEMPLATE_HELP, validators=[validate_reminder_template])
    html_template = models.TextField(
        _("HTML body"),
        blank=True,
        help_text=_("Optional; sent as the HTML part inside the site's email layout."),
        validators=[validate_reminder_template],
    )

    class Meta:
        ordering = ["rule", "language"]
        verbose_name = _("reminder rule translation")
        verbose_name_plural = _("reminder rule translations")
        constraints = [
            models.UniqueConstraint(fields=["rule", "language"], name="reminderruletranslation_one_per_language"),
            models.CheckConstraint(
                condition=Q(language__in=[code for code, _name in TRANSLATION_LANGUAGES]),
                name="reminderruletranslation_offered_language",
            ),
        ]

    def __str__(self):
        return f"{self.rule} ({self.get_language_display()})"


class ReminderDelivery(models.Model):
    """The record that a term was reminded by a rule: at most one, ever (the unique constraint)."""

    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.PROTECT, related_name="reminder_deliveries"
    )
    term = models.ForeignKey(Term, verbose_name=_("term"), on_delete=models.PROTECT, related_name="reminder_deliveries")
    rule = models.ForeignKey(
        ReminderRule, verbose_name=_("reminder rule"), on_delete=models.PROTECT, related_name="deliveries"
    )
    email = models.OneToOneField(
        OutgoingEmail, verbose_name=_("email"), on_delete=models.PROTECT, related_name="reminder_delivery"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("reminder delivery")
        verbose_name_plural = _("reminder deliveries")
        constraints = [models.UniqueConstraint(fields=["term", "rule"], name="reminderdelivery_once_per_term_rule")]

    def __str__(self):
        return f"{self.rule} → {self.membership}"
