from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from members.services.imports import ImportFileError, ImportRowsInvalid, import_apply, import_read, import_validate


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
        if dry_run:
            _good, errors = import_validate(rows)
            self._refuse_if(errors, rows)
            self.stdout.write(f"All {len(rows)} rows are valid (dry run: nothing written).")
            return
        try:
            # The real run validates exactly as the dry run does (import_apply calls import_validate).
            summary = import_apply(rows=rows)
        except ImportRowsInvalid as invalid:
            self._refuse_if(invalid.errors, rows)
        except DatabaseError as error:  # a concurrent change the check could not see; the transaction rolled back
            raise CommandError(f"{file}: the database refused the import, nothing was written: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary['rows']} rows: {summary['created_users']} new members, "
                f"{summary['created_terms']} new terms."
            )
        )

    def _refuse_if(self, errors, rows):
        for line, reason in errors:
            self.stderr.write(f"line {line}: {reason}")
        if errors:
            lines = len({line for line, _reason in errors})
            raise CommandError(f"{lines} of {len(rows)} rows are invalid; nothing was imported.")
