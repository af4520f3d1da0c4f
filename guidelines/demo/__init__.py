"""Demo guidelines: one long guideline in three editions (2016, 2021 and a 2025 targeted update) where
provisions are added, removed, renumbered, moved and reworded; a second, smaller guideline; and a Spanish
translation whose provisions carry the hash of the English text they were translated from.

Each edition is a file in the documented edition format (README, "the edition import format"), loaded in
file-name order through `edition_import`, the same code path as `manage.py import_edition --publish`.
Idempotent: an edition that already exists is left alone.
"""

import json
from pathlib import Path

from guidelines.apps import ensure_editors_group
from guidelines.exchange import edition_import
from guidelines.models import Edition, Guideline

DEMO_DIR = Path(__file__).resolve().parent


def demo_files() -> list[Path]:
    return sorted(DEMO_DIR.glob("*.json"))


def seed(command):
    ensure_editors_group(sender=None)
    library_order = []
    for path in demo_files():
        data = json.loads(path.read_text(encoding="utf-8"))
        guideline_slug = data["guideline"]["slug"]
        if guideline_slug not in library_order:
            library_order.append(guideline_slug)
        if Edition.objects.filter(guideline__slug=guideline_slug, slug=data["edition"]["slug"]).exists():
            continue
        edition = edition_import(data=data, publish=True)
        command.stdout.write(f"Demo guideline edition: {edition}")
    # The library lists guidelines in the order their first file comes.
    for position, slug in enumerate(library_order):
        Guideline.objects.filter(slug=slug).update(order=position)
