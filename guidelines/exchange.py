"""The edition JSON format: what /guidelines/<g>/<e>.json exports and `import_edition` reads.

The whole file is validated before anything is written, and every problem is reported with its location
(`provisions[3].parent`), so a society bringing in a long document fixes it in one pass.
"""

from django.db import transaction

from guidelines.exchange_checks import (
    FORMAT,
    MAX_BODY_CHARS,
    ImportProblems,
    edition_file_read,
    edition_import_problems,
    parse_date,
)
from guidelines.models import Edition, Guideline, Provision, ProvisionVersion
from guidelines.services import edition_publish

__all__ = ["FORMAT", "MAX_BODY_CHARS", "ImportProblems", "edition_export", "edition_file_read", "edition_import"]


def edition_export(*, edition: Edition) -> dict:
    versions = edition.versions.select_related("provision", "parent").in_reading_order()
    return {
        "format": FORMAT,
        "guideline": {"slug": edition.guideline.slug, "title": edition.guideline.title},
        "edition": {
            "label": edition.label,
            "slug": edition.slug,
            "kind": edition.kind,
            "status": edition.status,
            "language": edition.language,
            "published_on": edition.published_on.isoformat() if edition.published_on else None,
            "effective_on": edition.effective_on.isoformat() if edition.effective_on else None,
            "doi": edition.doi,
            "change_summary": edition.change_summary,
            "translation_of": edition.translation_of.slug if edition.translation_of_id else None,
        },
        "provisions": [
            {
                "uid": version.provision.uid,
                "slug": version.provision.slug,
                "number": version.number,
                "heading": version.heading,
                "kind": version.kind,
                "parent": version.parent.uid if version.parent_id else None,
                "body": version.body,
                "html": version.body_html,
                "change_note": version.change_note,
                "content_hash": version.content_hash,
                "source_hash": version.source_hash,
            }
            for version in versions
        ],
    }


@transaction.atomic
def edition_import(*, data, guideline_slug: str = "", publish: bool = False) -> Edition:
    """Create a draft edition from the exchange format (and publish it when asked), or raise ImportProblems
    having written nothing. Provisions whose uid the guideline already knows keep their identity."""
    problems = edition_import_problems(data=data, guideline_slug=guideline_slug)
    if problems:
        raise ImportProblems(problems)
    guideline_data = data.get("guideline") or {}
    slug = guideline_slug or guideline_data["slug"]
    guideline, _created = Guideline.objects.get_or_create(
        slug=slug,
        defaults={"title": guideline_data.get("title") or slug, "summary": guideline_data.get("summary") or ""},
    )
    meta = data["edition"]
    edition = Edition.objects.create(
        guideline=guideline,
        label=meta["label"],
        slug=meta["slug"],
        kind=meta.get("kind") or Edition.Kind.FULL,
        language=meta.get("language") or "en",
        change_summary=meta.get("change_summary") or "",
        doi=meta.get("doi") or "",
        effective_on=parse_date(meta.get("effective_on")),
        translation_of=guideline.editions.get(slug=meta["translation_of"]) if meta.get("translation_of") else None,
    )
    known = {provision.uid: provision for provision in guideline.provisions.all()}
    for item in data["provisions"]:
        if item["uid"] not in known:
            known[item["uid"]] = Provision.objects.create(guideline=guideline, uid=item["uid"], slug=item["slug"])
    versions = []
    for position, item in enumerate(data["provisions"], start=1):
        version = ProvisionVersion(
            edition=edition,
            provision=known[item["uid"]],
            number=item["number"],
            heading=item.get("heading") or "",
            kind=item.get("kind") or ProvisionVersion.Kind.SECTION,
            parent=known[item["parent"]] if item.get("parent") else None,
            order=position * 10,
            body=item.get("body") or "",
            change_note=item.get("change_note") or "",
            source_hash=item.get("source_hash") or "",
        )
        version.refresh_derived()
        versions.append(version)
    ProvisionVersion.objects.bulk_create(versions)
    if publish:
        edition = edition_publish(edition=edition, published_on=parse_date(meta.get("published_on")))
    return edition
