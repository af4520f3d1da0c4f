"""Writes to the guidelines library. Every function is keyword-only and atomic.

Published editions are refused here with a readable error before the database trigger would refuse them
with an exception: the trigger is the guarantee, this is the explanation.
"""

import datetime
from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from guidelines.models import Edition, Guideline, Provision, ProvisionVersion
from guidelines.services.alert_fanout import alert_run_start
from guidelines.services.webhooks import webhook_deliveries_enqueue

PUBLISHED_IS_IMMUTABLE = _("“%(edition)s” is published and cannot change. Publish a correction edition instead.")
DUPLICATE_NUMBER = _("Number %(number)s is used by more than one provision (%(headings)s).")
EMPTY_PROVISION = _("Provision %(number)s has neither a heading nor text.")
NO_CHANGE_SUMMARY = _("The edition has no change summary.")
MISSING_PARENT = _("Provision %(number)s sits in a provision that is not in this edition.")
PARENT_CYCLE = _("Provision %(number)s sits, through its parents, inside itself.")
NO_PROVISIONS = _("The edition has no provisions.")
TRANSLATION_SOURCE_UNPUBLISHED = _("A translation can only be published once the edition it translates is published.")


def edition_assert_editable(*, edition: Edition) -> None:
    if edition.pk and Edition.objects.filter(pk=edition.pk, status=Edition.Status.PUBLISHED).exists():
        raise ValidationError(PUBLISHED_IS_IMMUTABLE, code="published", params={"edition": edition})


def edition_problems(*, edition: Edition) -> list[str]:
    """Everything that stops a draft from being published, as readable sentences (empty when it is ready)."""
    problems = []
    versions = list(edition.versions.all())
    if not versions:
        problems.append(str(NO_PROVISIONS))
    if not edition.change_summary.strip():
        problems.append(str(NO_CHANGE_SUMMARY))
    counts = Counter(version.number.strip() for version in versions)
    for number, count in sorted(counts.items()):
        if count > 1:
            headings = ", ".join(v.display_heading or "—" for v in versions if v.number.strip() == number)
            problems.append(str(DUPLICATE_NUMBER % {"number": number, "headings": headings}))
    parents = {version.provision_id: version.parent_id for version in versions}
    for version in versions:
        # A heading is optional (most paragraphs of a regulation have none), but a provision needs something.
        if not version.heading.strip() and not version.body_text.strip():
            problems.append(str(EMPTY_PROVISION % {"number": version.number}))
        if version.parent_id is not None and version.parent_id not in parents:
            problems.append(str(MISSING_PARENT % {"number": version.number}))
        elif _sits_in_itself(version.provision_id, parents):
            problems.append(str(PARENT_CYCLE % {"number": version.number}))
    if edition.translation_of_id and not edition.translation_of.is_published:
        problems.append(str(TRANSLATION_SOURCE_UNPUBLISHED))
    return problems


def _sits_in_itself(provision_id, parents) -> bool:
    seen, node = set(), parents.get(provision_id)
    while node is not None and node not in seen:
        if node == provision_id:
            return True
        seen.add(node)
        node = parents.get(node)
    return False


@transaction.atomic
def edition_publish(*, edition: Edition, published_on: datetime.date | None = None) -> Edition:
    """Check the draft and publish it; it becomes the guideline's current edition (if it is the latest), and
    the webhook endpoints whose scope it changed are sent a summary, and its followers their alerts.

    The row lock makes two editors pressing "publish" at once publish it once, the second seeing it published.
    """
    edition = Edition.objects.select_for_update(of=("self",)).select_related("translation_of").get(pk=edition.pk)
    edition_assert_editable(edition=edition)
    problems = edition_problems(edition=edition)
    if problems:
        raise ValidationError(problems, code="not_ready")
    edition.status = Edition.Status.PUBLISHED
    edition.published_on = published_on or timezone.localdate()
    edition.effective_on = edition.effective_on or edition.published_on
    edition._change_reason = "Published"  # recorded by django-simple-history
    edition.save()
    # Written with the publish, sent after commit: a rolled-back publish notifies nobody.
    webhook_deliveries_enqueue(edition=edition)
    alert_run_start(edition=edition)
    return edition


def _unique_edition_slug(guideline: Guideline, base: str) -> str:
    base = slugify(base)[:80] or "draft"
    slug, counter = base, 2
    while Edition.objects.filter(guideline=guideline, slug=slug).exists():
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


@transaction.atomic
def edition_start_from(
    *,
    edition: Edition,
    label: str = "",
    slug: str = "",
    kind: str = Edition.Kind.FULL,
) -> Edition:
    """A new draft with a copy of every provision version of `edition`, keeping each provision's identity,
    number, place and text, ready for editors to amend."""
    label = label or _("%(label)s (new draft)") % {"label": edition.label}
    draft = Edition.objects.create(
        guideline=edition.guideline,
        label=label,
        slug=slug or _unique_edition_slug(edition.guideline, f"{edition.slug}-draft"),
        kind=kind,
        language=edition.language,
        translation_of=edition.translation_of,
    )
    copies = []
    for version in edition.versions.all():
        copy = ProvisionVersion(
            edition=draft,
            provision_id=version.provision_id,
            number=version.number,
            heading=version.heading,
            kind=version.kind,
            parent_id=version.parent_id,
            order=version.order,
            body=version.body,
            source_hash=version.source_hash,
        )
        copy.refresh_derived()
        copies.append(copy)
    ProvisionVersion.objects.bulk_create(copies)
    return draft


@transaction.atomic
def provision_create(*, guideline: Guideline, slug: str, uid: str = "") -> Provision:
    base = slugify(slug)[:100] or "provision"
    candidate, counter = base, 2
    while Provision.objects.filter(guideline=guideline, slug=candidate).exists():
        candidate, counter = f"{base}-{counter}", counter + 1
    provision = Provision(guideline=guideline, slug=candidate)
    if uid:
        provision.uid = uid
    provision.save()
    return provision


@transaction.atomic
def provision_version_save(*, version: ProvisionVersion) -> ProvisionVersion:
    """Save a draft's provision version (admin inline edits come through here)."""
    edition_assert_editable(edition=version.edition)
    if version.pk:
        edition_assert_editable(edition=ProvisionVersion.objects.get(pk=version.pk).edition)
    version.save()
    return version
