"""Building blocks for the alert tests: a published edition with followers, and its revision."""

import datetime

from django.utils import timezone

from guidelines.models import AlertSubscription, Edition, Provision, ProvisionVersion
from guidelines.services import edition_start_from


def follow(email, edition, slug=None, *, status=AlertSubscription.Status.ACTIVE, language="en"):
    """A subscription straight in the database (the subscribe flow has tests of its own)."""
    provision = Provision.objects.get(guideline=edition.guideline, slug=slug) if slug else None
    return AlertSubscription.objects.create(
        email=email,
        guideline=edition.guideline,
        provision=provision,
        language=language,
        status=status,
        confirmed_at=timezone.now() if status == AlertSubscription.Status.ACTIVE else None,
        cancelled_at=timezone.now() if status == AlertSubscription.Status.CANCELLED else None,
    )


def revise(old, *, kind=Edition.Kind.FULL, label="2021"):
    """A draft of `old` with every kind of change, in part 1 and part 2 (see build_edition: sections with an
    even index sit in part 1, odd ones in part 2): section-0 reworded, section-2 renumbered, section-4 moved
    from part 1 to part 2, section-6 removed, new-rule added in part 2. Odd sections stay as they were."""
    draft = edition_start_from(edition=old, label=label, slug=label.lower().replace(" ", "-"), kind=kind)
    versions = {v.provision.slug: v for v in draft.versions.select_related("provision")}
    part_2 = Provision.objects.get(guideline=old.guideline, slug="part-2")
    reworded = versions["section-0"]
    reworded.body = "Text of section 0. Researchers must keep written records of informed consent."
    reworded.save()
    renumbered = versions["section-2"]
    renumbered.number = "1.9"
    renumbered.save()
    moved = versions["section-4"]
    moved.number, moved.parent, moved.order = "2.9", part_2, 9000
    moved.save()
    versions["section-6"].delete()
    ProvisionVersion.objects.create(
        edition=draft,
        provision=Provision.objects.create(guideline=old.guideline, slug="new-rule"),
        number="2.10",
        heading="Sharing of consent forms",
        kind="section",
        parent=part_2,
        order=9500,
        body="Consent forms should be shared.",
    )
    Edition.objects.filter(pk=draft.pk).update(change_summary="Revised.")
    draft.refresh_from_db()
    return draft


PUBLISHED_ON = datetime.date(2021, 5, 1)
