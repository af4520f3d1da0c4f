from django.core.management.base import BaseCommand

from members.services.reminders import renewal_reminders_send


class Command(BaseCommand):
    help = "Queue every due renewal reminder now (the hourly beat job, run by hand)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List who would get which reminder; send nothing.")

    def handle(self, *args, dry_run=False, **options):
        run = renewal_reminders_send(dry_run=dry_run)
        if dry_run:
            for email, rule, end in run.planned:
                self.stdout.write(f"{email}\t{rule}\tterm ends {end}")
        verb = "would queue" if dry_run else "queued"
        for rule, count in run.per_rule.items():
            self.stdout.write(f"{rule}: {verb} {count}")
        self.stdout.write(self.style.SUCCESS(f"{run.today}: {verb} {run.total} reminder(s)."))
