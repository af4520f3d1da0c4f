"""The edition JSON format: what /guidelines/<g>/<e>.json exports and `import_edition` reads.

The whole file is validated before anything is written, and every problem is reported with its location
(`provisions[3].parent`), so a society bringing in a long document fixes it in one pass.
"""

import datetime
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guidelines.models import RESERVED_EDITION_SLUGS, Edition, Guideline, Provision, ProvisionVersion
from guidelines.services import edition_publish

FORMAT = "society-guideline-edition/1"
MAX_BODY_CHARS = 20_000
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


class ImportProblems(ValidationError):
    """Raised with one located message per problem; nothing was written."""


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


def _parse_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _check_string(problems, data, key, location, *, required=True, max_length=None):
    value = data.get(key)
    if value is None or value == "":
        if required:
            problems.append(_("%(location)s.%(key)s: missing") % {"location": location, "key": key})
        return ""
    if not isinstance(value, str):
        problems.append(_("%(location)s.%(key)s: must be text") % {"location": location, "key": key})
        return ""
    if max_length and len(value) > max_length:
        problems.append(
            _("%(location)s.%(key)s: longer than %(max)d characters")
            % {"location": location, "key": key, "max": max_length}
        )
    return value


def edition_import_problems(*, data, guideline_slug: str = "") -> list[str]:
    """Every problem in an edition file, each naming where it is. Empty when the file can be imported."""
    if not isinstance(data, dict):
        return [_("The file must contain a JSON object.")]
    problems = []
    if data.get("format") not in (None, FORMAT):
        problems.append(_("format: expected %(format)s") % {"format": FORMAT})
    guideline_data = data.get("guideline") if isinstance(data.get("guideline"), dict) else {}
    slug = guideline_slug or guideline_data.get("slug") or ""
    guideline = Guideline.objects.filter(slug=slug).first() if slug else None
    if not slug:
        problems.append(_("guideline.slug: missing (or give --guideline)"))
    elif guideline is None and not guideline_data.get("title"):
        problems.append(_("guideline: no guideline “%(slug)s” exists and the file gives no title") % {"slug": slug})

    edition = data.get("edition")
    if not isinstance(edition, dict):
        problems.append(_("edition: missing"))
        edition = {}
    _check_string(problems, edition, "label", "edition", max_length=100)
    edition_slug = _check_string(problems, edition, "slug", "edition", max_length=100)
    if edition_slug and (not _SLUG.match(edition_slug) or edition_slug in RESERVED_EDITION_SLUGS):
        problems.append(_("edition.slug: “%(slug)s” is not a usable slug") % {"slug": edition_slug})
    elif edition_slug and guideline and guideline.editions.filter(slug=edition_slug).exists():
        problems.append(_("edition.slug: the guideline already has an edition “%(slug)s”") % {"slug": edition_slug})
    if edition.get("kind", Edition.Kind.FULL) not in Edition.Kind.values:
        problems.append(_("edition.kind: must be one of %(values)s") % {"values": ", ".join(Edition.Kind.values)})
    languages = [code for code, _name in settings.LANGUAGES]
    if edition.get("language", "en") not in languages:
        problems.append(_("edition.language: must be one of %(values)s") % {"values": ", ".join(languages)})
    _check_string(problems, edition, "change_summary", "edition", required=False, max_length=MAX_BODY_CHARS)
    for key in ("published_on", "effective_on"):
        if edition.get(key) and _parse_date(edition[key]) is None:
            problems.append(_("edition.%(key)s: not a date in YYYY-MM-DD form") % {"key": key})
    source_slug = edition.get("translation_of")
    if source_slug is not None and not isinstance(source_slug, str):
        problems.append(_("edition.translation_of: must be the slug of an edition"))
    elif source_slug and not (guideline and guideline.editions.filter(slug=source_slug).exists()):
        problems.append(_("edition.translation_of: no edition “%(slug)s” in the guideline") % {"slug": source_slug})

    provisions = data.get("provisions")
    if not isinstance(provisions, list) or not provisions:
        problems.append(_("provisions: must be a non-empty list"))
        return problems
    existing = dict(guideline.provisions.values_list("uid", "slug")) if guideline else {}
    taken_slugs = {slug: uid for uid, slug in existing.items()}
    seen_uids, seen_numbers, seen_slugs = {}, {}, {}
    for index, item in enumerate(provisions):
        location = f"provisions[{index}]"
        if not isinstance(item, dict):
            problems.append(_("%(location)s: must be an object") % {"location": location})
            continue
        uid = _check_string(problems, item, "uid", location, max_length=64)
        number = _check_string(problems, item, "number", location, max_length=30)
        _check_string(problems, item, "heading", location, required=False, max_length=300)
        _check_string(problems, item, "body", location, required=False, max_length=MAX_BODY_CHARS)
        _check_string(problems, item, "change_note", location, required=False, max_length=500)
        if item.get("kind", "section") not in ProvisionVersion.Kind.values:
            problems.append(
                _("%(location)s.kind: must be one of %(values)s")
                % {"location": location, "values": ", ".join(ProvisionVersion.Kind.values)}
            )
        if uid:
            if uid in seen_uids:
                problems.append(
                    _("%(location)s.uid: “%(uid)s” is also used by provisions[%(other)d]")
                    % {"location": location, "uid": uid, "other": seen_uids[uid]}
                )
            seen_uids.setdefault(uid, index)
        if number:
            if number in seen_numbers:
                problems.append(
                    _("%(location)s.number: “%(number)s” is also used by provisions[%(other)d]")
                    % {"location": location, "number": number, "other": seen_numbers[number]}
                )
            seen_numbers.setdefault(number, index)
        slug = item.get("slug")
        if uid and uid not in existing:
            if not isinstance(slug, str) or not _SLUG.match(slug or ""):
                problems.append(_("%(location)s.slug: missing or not a usable slug") % {"location": location})
            elif slug in seen_slugs or taken_slugs.get(slug, uid) != uid:
                problems.append(
                    _("%(location)s.slug: “%(slug)s” already names another provision")
                    % {"location": location, "slug": slug}
                )
            else:
                seen_slugs[slug] = index
    for index, item in enumerate(provisions):
        parent = item.get("parent") if isinstance(item, dict) else None
        if parent is not None and not isinstance(parent, str):
            problems.append(_("provisions[%(index)d].parent: must be a uid or null") % {"index": index})
        elif parent and parent not in seen_uids:
            problems.append(
                _("provisions[%(index)d].parent: “%(parent)s” is not a provision in this file")
                % {"index": index, "parent": parent}
            )
        elif parent and parent == item.get("uid"):
            problems.append(_("provisions[%(index)d].parent: a provision cannot sit in itself") % {"index": index})
    return problems


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
        slug=slug, defaults={"title": guideline_data.get("title", slug), "summary": guideline_data.get("summary", "")}
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
        effective_on=_parse_date(meta.get("effective_on")),
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
        edition = edition_publish(edition=edition, published_on=_parse_date(meta.get("published_on")))
    return edition
