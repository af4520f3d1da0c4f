from django.db import migrations

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
    dependencies = [("members", "0004_reminders")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
