from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from guidelines.exchange import edition_file_read, edition_import


class Command(BaseCommand):
    help = "Import an edition from the JSON exchange format (see README) as a draft, or publish it with --publish."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="Path to the edition JSON file.")
        parser.add_argument("--guideline", default="", help="Slug of the guideline (defaults to the file's).")
        parser.add_argument("--publish", action="store_true", help="Publish the edition after importing it.")

    def handle(self, *args, file: Path, guideline, publish, **options):
        try:
            data = edition_file_read(file.read_bytes())
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        except ValidationError as error:
            raise CommandError(f"{file}: {' '.join(error.messages)}") from error
        try:
            edition = edition_import(data=data, guideline_slug=guideline, publish=publish)
        except ValidationError as error:
            for message in error.messages:
                self.stderr.write(f"{file}: {message}")
            raise CommandError(f"{len(error.messages)} problem(s) found; nothing was imported.") from error
        state = "published" if edition.is_published else "draft"
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {edition} ({state}) with {edition.versions.count()} provisions: {edition.get_absolute_url()}"
            )
        )
