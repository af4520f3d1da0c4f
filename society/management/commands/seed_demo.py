"""Load demo data for local use. Idempotent: running it twice changes nothing.

Each app contributes a `demo` package with a `seed(command)` function and its data files; they run in
the order of DEMO_SEEDERS, so news can name the demo staff as its author.
"""

from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

DEMO_SEEDERS = ["members.demo", "society.demo", "guidelines.demo"]


class Command(BaseCommand):
    help = "Create demo data (idempotent). Refuses to run with DEBUG off unless --force is given."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never in production).")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates a staff login with a published password; it only runs with DEBUG on.")
        with transaction.atomic():
            for module_name in DEMO_SEEDERS:
                import_module(module_name).seed(self)
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
