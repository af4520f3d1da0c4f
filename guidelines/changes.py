"""What changed in each published edition, as data: the change feeds and the webhooks read it here.

Built on guidelines.diff.compare_editions (the compare page's own matching by provision identity), without the
redline and without the provisions' text, so a guideline of many editions and provisions is one query.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Left
from django.urls import reverse

from guidelines.diff import UNCHANGED, ProvisionChange, compare_editions
from guidelines.models import Edition, ProvisionVersion, heading_or_lead

# Editions a guideline's change feed covers, newest first.
FEED_EDITIONS = 20
# Enough of a provision's text to stand in for a missing heading (see heading_or_lead).
LEAD_CHARS = 300


@dataclass
class EditionChanges:
    edition: Edition
    previous: Edition | None
    changes: list[ProvisionChange] = field(default_factory=list)
    # provision id -> parent provision id, in the previous and in this edition: what "under a section" means.
    old_parents: dict = field(default_factory=dict)
    new_parents: dict = field(default_factory=dict)

    def counts(self):
        counts = {}
        for change in self.changes:
            counts[change.status] = counts.get(change.status, 0) + 1
        return counts

    def within(self, provision_id: int | None) -> list[ProvisionChange]:
        """The changes to `provision_id` and everything under it (in either edition); all of them for None."""
        if provision_id is None:
            return list(self.changes)
        return [
            change
            for change in self.changes
            if _under(change.provision.pk, provision_id, self.new_parents)
            or _under(change.provision.pk, provision_id, self.old_parents)
        ]


def _under(node, ancestor, parents) -> bool:
    seen = set()
    while node is not None and node not in seen:
        if node == ancestor:
            return True
        seen.add(node)
        node = parents.get(node)
    return False


@dataclass(frozen=True, slots=True)
class ProvisionRef:
    pk: int
    slug: str
    uid: str


@dataclass(slots=True)
class VersionRow:
    """What compare_versions and a change list read of a provision version, loaded as plain values: building
    model instances was nine tenths of a large feed's time."""

    edition_id: int
    provision_id: int
    number: str
    heading: str
    parent_id: int | None
    content_hash: str
    lead: str
    provision: ProvisionRef


def label(version: VersionRow) -> str:
    """ "3.2 Consent", or the number and first words when there is no heading."""
    return f"{version.number} {heading_or_lead(version.heading, version.lead)}".strip()


def _light_versions(edition_ids) -> list[VersionRow]:
    rows = (
        ProvisionVersion.objects.filter(edition__in=edition_ids)
        .annotate(lead=Left("body_text", LEAD_CHARS))
        .in_reading_order()
        .values_list(
            "edition_id",
            "provision_id",
            "number",
            "heading",
            "parent_id",
            "content_hash",
            "lead",
            "provision__slug",
            "provision__uid",
        )
    )
    provisions = {}
    versions = []
    for *fields, slug, uid in rows:
        provision = provisions.get(fields[1])
        if provision is None:
            provision = provisions[fields[1]] = ProvisionRef(fields[1], slug, uid)
        versions.append(VersionRow(*fields, provision=provision))
    return versions


def changes_of_editions(originals: list[Edition], *, newest: int = FEED_EDITIONS) -> list[EditionChanges]:
    """The changes of each of the `newest` last editions in `originals` (chronological, one guideline's
    originals) against the one before it, newest first, leaving out editions that changed nothing. One query."""
    shown = originals[-newest:]
    start = len(originals) - len(shown)
    loaded = originals[max(start - 1, 0) :]
    by_edition = {edition.pk: [] for edition in loaded}
    for version in _light_versions([edition.pk for edition in loaded]):
        by_edition[version.edition_id].append(version)
    result = []
    for index in range(start, len(originals)):
        edition = originals[index]
        previous = originals[index - 1] if index > 0 else None
        old_versions = by_edition[previous.pk] if previous else []
        entry = _edition_changes(previous, edition, old_versions, by_edition[edition.pk])
        if entry.changes:
            result.append(entry)
    result.reverse()
    return result


def edition_changes(*, edition: Edition, previous: Edition | None) -> EditionChanges:
    """What `edition` changed against `previous` (None for a first edition: everything is added). One query."""
    ids = [edition.pk] + ([previous.pk] if previous else [])
    versions = _light_versions(ids)
    old_versions = [version for version in versions if previous and version.edition_id == previous.pk]
    new_versions = [version for version in versions if version.edition_id == edition.pk]
    return _edition_changes(previous, edition, old_versions, new_versions)


def _edition_changes(previous, edition, old_versions, new_versions) -> EditionChanges:
    comparison = compare_editions(previous, edition, old_versions, new_versions, with_redline=False)
    return EditionChanges(
        edition=edition,
        previous=previous,
        changes=[change for change in comparison.changes if change.status != UNCHANGED],
        old_parents={version.provision_id: version.parent_id for version in old_versions},
        new_parents={version.provision_id: version.parent_id for version in new_versions},
    )


def previous_original(edition: Edition) -> Edition | None:
    """The original edition before `edition` in the order of GuidelineState.previous_of: the one it replaced."""
    return (
        Edition.objects.published()
        .originals()
        .filter(guideline_id=edition.guideline_id)
        .filter(Q(published_on__lt=edition.published_on) | Q(published_on=edition.published_on, pk__lt=edition.pk))
        .order_by("-published_on", "-pk")
        .first()
    )


def absolute(path: str) -> str:
    # SITE_URL, the canonical origin, whatever host a request came in on (and there is none in a worker).
    return settings.SITE_URL + path


def provision_url(guideline_slug: str, edition: Edition, provision) -> str:
    return absolute(
        reverse(
            "guidelines:provision",
            kwargs={"guideline": guideline_slug, "edition": edition.slug, "provision": provision.slug},
        )
    )


def compare_url(guideline_slug: str, old: Edition | None, new: Edition, provision=None) -> str:
    """The compare page of the two editions (of one provision when given); a first edition's own page."""
    if old is None:
        return absolute(reverse("guidelines:edition", kwargs={"guideline": guideline_slug, "edition": new.slug}))
    kwargs = {"guideline": guideline_slug, "old": old.slug, "new": new.slug}
    if provision is None:
        return absolute(reverse("guidelines:compare", kwargs=kwargs))
    return absolute(reverse("guidelines:compare-provision", kwargs={**kwargs, "provision": provision.slug}))
