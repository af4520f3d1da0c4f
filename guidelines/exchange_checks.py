"""Checks on an edition file before anything is written: every problem, each with its JSON path.

Every value the import writes is checked here for its type and against the column it goes to (lengths come
from the model fields), slugs against what the URLs accept, and the whole document for NUL characters,
invalid Unicode and nesting depth, so a file either imports completely or is refused with a list; never a
database error half-way, and never a row that would break a public page.
"""

import datetime
import json
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from guidelines.models import RESERVED_SLUGS, Edition, Guideline, Provision, ProvisionVersion

FORMAT = "society-guideline-edition/1"
MAX_BODY_CHARS = 20_000
# The format nests four levels (file, provisions, a provision, its values); deeper is not this format.
MAX_DEPTH = 8
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")
_HASH = re.compile(r"^[0-9a-f]{1,64}\Z")


class ImportProblems(ValidationError):
    """Raised with one located message per problem; nothing was written."""


def _max(model, field: str) -> int:
    return model._meta.get_field(field).max_length


def edition_file_read(raw: bytes):
    """The parsed content of an edition file, or ImportProblems when it is not UTF-8 JSON."""
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise ImportProblems([_("The file is not UTF-8 text: %(error)s") % {"error": error}]) from error
    except json.JSONDecodeError as error:
        raise ImportProblems(
            [
                _("The file is not valid JSON (line %(line)d, column %(column)d): %(error)s")
                % {"line": error.lineno, "column": error.colno, "error": error.msg}
            ]
        ) from error
    except RecursionError as error:
        raise ImportProblems([_("The file is nested deeper than %(max)d levels.") % {"max": MAX_DEPTH}]) from error
    except ValueError as error:  # e.g. a number with more digits than Python converts
        raise ImportProblems([_("The file is not valid JSON: %(error)s") % {"error": error}]) from error


def _document_problems(data) -> list[str]:
    """NUL characters, invalid Unicode and excessive nesting anywhere in the document (iterative: a hostile
    file cannot exhaust the stack)."""
    problems, stack = [], [("", data, 1)]
    while stack:
        location, value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                problems.append(
                    _("%(location)s: nested deeper than %(max)d levels") % {"location": location, "max": MAX_DEPTH}
                )
                continue
            children = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in reversed(list(children)):
                child_location = f"{location}[{key}]" if isinstance(value, list) else f"{location}.{key}".lstrip(".")
                stack.append((child_location, child, depth + 1))
        elif isinstance(value, str):
            if "\x00" in value:
                problems.append(_("%(location)s: contains a NUL character") % {"location": location})
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                problems.append(_("%(location)s: is not valid Unicode text") % {"location": location})
    return problems


def _text(problems, data, key, location, *, required=True, max_length=None) -> str:
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
        return ""
    return value


def _slug(problems, data, key, location, *, max_length, required=True) -> str:
    """A slug the URLs accept, or "" (with a problem) so that no query is ever made with a bad value."""
    value = _text(problems, data, key, location, required=required, max_length=max_length)
    if value and not _SLUG.match(value):
        problems.append(
            _("%(location)s.%(key)s: “%(slug)s” is not a slug (letters a-z, digits, - and _ only)")
            % {"location": location, "key": key, "slug": value}
        )
        return ""
    if value in RESERVED_SLUGS:
        problems.append(
            _("%(location)s.%(key)s: “%(slug)s” is a word the site's URLs use")
            % {"location": location, "key": key, "slug": value}
        )
        return ""
    return value


def _choice(problems, data, key, location, choices, default) -> None:
    value = data.get(key, default)
    if not isinstance(value, str) or value not in choices:
        problems.append(
            _("%(location)s.%(key)s: must be one of %(values)s")
            % {"location": location, "key": key, "values": ", ".join(choices)}
        )


def _object(problems, data, key, *, required) -> dict:
    value = data.get(key)
    if isinstance(value, dict):
        return value
    if value is not None or required:
        problems.append(_("%(key)s: must be an object") % {"key": key})
    return {}


def parse_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _guideline_problems(problems, data, guideline_slug):
    """Check the guideline part; returns the existing guideline, if any."""
    guideline_data = _object(problems, data, "guideline", required=False)
    source = {"slug": guideline_slug} if guideline_slug else guideline_data
    slug = _slug(problems, source, "slug", "guideline", max_length=_max(Guideline, "slug"))
    guideline = Guideline.objects.filter(slug=slug).first() if slug else None
    _text(problems, guideline_data, "title", "guideline", required=False, max_length=_max(Guideline, "title"))
    if slug and guideline is None and not guideline_data.get("title"):
        problems.append(_("guideline: no guideline “%(slug)s” exists and the file gives no title") % {"slug": slug})
    _text(problems, guideline_data, "summary", "guideline", required=False, max_length=MAX_BODY_CHARS)
    return guideline


def _edition_problems(problems, data, guideline):
    edition = _object(problems, data, "edition", required=True)
    _text(problems, edition, "label", "edition", max_length=_max(Edition, "label"))
    edition_slug = _slug(problems, edition, "slug", "edition", max_length=_max(Edition, "slug"))
    if edition_slug and guideline and guideline.editions.filter(slug=edition_slug).exists():
        problems.append(_("edition.slug: the guideline already has an edition “%(slug)s”") % {"slug": edition_slug})
    _choice(problems, edition, "kind", "edition", Edition.Kind.values, Edition.Kind.FULL)
    _choice(problems, edition, "language", "edition", [code for code, _name in settings.LANGUAGES], "en")
    _text(problems, edition, "change_summary", "edition", required=False, max_length=MAX_BODY_CHARS)
    _text(problems, edition, "doi", "edition", required=False, max_length=_max(Edition, "doi"))
    for key in ("published_on", "effective_on"):
        if edition.get(key) not in (None, "") and parse_date(edition[key]) is None:
            problems.append(_("edition.%(key)s: not a date in YYYY-MM-DD form") % {"key": key})
    if edition.get("translation_of") is not None:
        source_slug = _slug(problems, edition, "translation_of", "edition", max_length=_max(Edition, "slug"))
        if source_slug and not (guideline and guideline.editions.filter(slug=source_slug).exists()):
            problems.append(_("edition.translation_of: no edition “%(slug)s” in the guideline") % {"slug": source_slug})


def _provision_problems(problems, provisions, guideline):
    existing = dict(guideline.provisions.values_list("uid", "slug")) if guideline else {}
    taken_slugs = {slug: uid for uid, slug in existing.items()}
    seen_uids, seen_numbers, seen_slugs = {}, {}, {}
    for index, item in enumerate(provisions):
        location = f"provisions[{index}]"
        if not isinstance(item, dict):
            problems.append(_("%(location)s: must be an object") % {"location": location})
            continue
        uid = _text(problems, item, "uid", location, max_length=_max(Provision, "uid"))
        number = _text(problems, item, "number", location, max_length=_max(ProvisionVersion, "number"))
        _text(problems, item, "heading", location, required=False, max_length=_max(ProvisionVersion, "heading"))
        _text(problems, item, "body", location, required=False, max_length=MAX_BODY_CHARS)
        _text(problems, item, "change_note", location, required=False, max_length=_max(ProvisionVersion, "change_note"))
        source_hash = _text(problems, item, "source_hash", location, required=False, max_length=64)
        if source_hash and not _HASH.match(source_hash):
            problems.append(_("%(location)s.source_hash: not a content hash") % {"location": location})
        _choice(problems, item, "kind", location, ProvisionVersion.Kind.values, ProvisionVersion.Kind.SECTION)
        for key, value, seen in (("uid", uid, seen_uids), ("number", number, seen_numbers)):
            if value and value in seen:
                problems.append(
                    _("%(location)s.%(key)s: “%(value)s” is also used by provisions[%(other)d]")
                    % {"location": location, "key": key, "value": value, "other": seen[value]}
                )
            if value:
                seen.setdefault(value, index)
        if uid and uid not in existing:
            slug = _slug(problems, item, "slug", location, max_length=_max(Provision, "slug"))
            if slug and (slug in seen_slugs or taken_slugs.get(slug, uid) != uid):
                problems.append(
                    _("%(location)s.slug: “%(slug)s” already names another provision")
                    % {"location": location, "slug": slug}
                )
            elif slug:
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


def edition_import_problems(*, data, guideline_slug: str = "") -> list[str]:
    """Every problem in an edition file, each naming where it is. Empty when the file can be imported."""
    if not isinstance(data, dict):
        return [_("The file must contain a JSON object.")]
    problems = _document_problems(data)
    if data.get("format") not in (None, FORMAT):
        problems.append(_("format: expected %(format)s") % {"format": FORMAT})
    guideline = _guideline_problems(problems, data, guideline_slug)
    _edition_problems(problems, data, guideline)
    provisions = data.get("provisions")
    if not isinstance(provisions, list) or not provisions:
        problems.append(_("provisions: must be a non-empty list"))
    else:
        _provision_problems(problems, provisions, guideline)
    return problems
