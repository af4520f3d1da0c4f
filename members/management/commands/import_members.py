from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from members.services.imports import ImportFileError, import_apply, import_read, import_validate


class Command(BaseCommand):
    help = (
        "Import members from a CSV (email, full name, country, institution, type, term end date, ORCID). "
        "Every row is checked first; nothing is written unless all rows are valid."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing.")

    def handle(self, *args, file: Path, dry_run=False, **options):
        try:
            rows = import_read(file.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ImportFileError) as error:
            raise CommandError(f"{file}: {error}") from error
        good, errors = import_validate(rows)
        for line, reason in errors:
            self.stderr.write(f"line {line}: {reason}")
        if errors:
            raise CommandError(f"{len(errors)} of {len(rows)} rows are invalid; nothing was imported.")
        if dry_run:
            self.stdout.write(f"All {len(rows)} rows are valid (dry run: nothing written).")
            return
        summary = import_apply(good)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary['rows']} rows: {summary['created_users']} new members, "
                f"{summary['created_terms']} new terms."
            )
        )
