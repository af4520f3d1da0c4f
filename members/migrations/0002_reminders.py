"""Renewal reminders: the staff-editable rules, with the default schedule (members/reminder_defaults.py), and
one delivery per (term, rule) pointing to the email in the society's outbox."""

import django.db.models.deletion
from django.db import migrations, models

import members.models.reminders

# The defaults live in members/reminder_defaults.py so tests and demo data create the very same rules.
from members.reminder_defaults import DEFAULT_RULES


def create_rules(apps, schema_editor):
    ReminderRule = apps.get_model("members", "ReminderRule")
    for rule in DEFAULT_RULES:
        ReminderRule.objects.get_or_create(offset_days=rule["offset_days"], defaults=rule)


def remove_rules(apps, schema_editor):
    ReminderRule = apps.get_model("members", "ReminderRule")
    ReminderRule.objects.filter(
        offset_days__in=[rule["offset_days"] for rule in DEFAULT_RULES], deliveries=None
    ).delete()


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("members", "0001_initial"),
        ("society", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReminderRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                (
                    "offset_days",
                    models.IntegerField(
                        help_text="Negative: before the end date (-30 is 30 days before); 0: on the end date; positive: after.",
                        verbose_name="days from the end date",
                    ),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                (
                    "subject_template",
                    models.CharField(
                        help_text="A Django template. Available: {{ preferred_name }}, {{ full_name }}, {{ membership_type }}, {{ end_date }} (in the member's language), {{ price }} (for their country's band, with currency), {{ renew_url }}, {{ society_name }}.",
                        max_length=255,
                        validators=[members.models.reminders.validate_reminder_template],
                        verbose_name="subject",
                    ),
                ),
                (
                    "text_template",
                    models.TextField(
                        help_text="A Django template. Available: {{ preferred_name }}, {{ full_name }}, {{ membership_type }}, {{ end_date }} (in the member's language), {{ price }} (for their country's band, with currency), {{ renew_url }}, {{ society_name }}.",
                        validators=[members.models.reminders.validate_reminder_template],
                        verbose_name="text body",
                    ),
                ),
                (
                    "html_template",
                    models.TextField(
                        blank=True,
                        help_text="Optional; sent as the HTML part inside the site's email layout.",
                        validators=[members.models.reminders.validate_reminder_template],
                        verbose_name="HTML body",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
            ],
            options={
                "verbose_name": "reminder rule",
                "verbose_name_plural": "reminder rules",
                "ordering": ["offset_days"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("is_active", True)),
                        fields=("offset_days",),
                        name="reminderrule_active_offset_unique",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("offset_days__gte", -365), ("offset_days__lte", 365)),
                        name="reminderrule_offset_within_a_year",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ReminderDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                (
                    "email",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reminder_delivery",
                        to="society.outgoingemail",
                    ),
                ),
                (
                    "membership",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reminder_deliveries",
                        to="members.membership",
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deliveries",
                        to="members.reminderrule",
                    ),
                ),
                (
                    "term",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reminder_deliveries",
                        to="members.term",
                    ),
                ),
            ],
            options={
                "verbose_name": "reminder delivery",
                "verbose_name_plural": "reminder deliveries",
                "ordering": ["-created_at"],
                "constraints": [
                    models.UniqueConstraint(fields=("term", "rule"), name="reminderdelivery_once_per_term_rule")
                ],
            },
        ),
        migrations.RunPython(create_rules, remove_rules),
    ]
