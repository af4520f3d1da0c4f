import datetime

import pytest

from guidelines.models import Edition, Provision, ProvisionVersion
from guidelines.services import edition_publish, edition_start_from
from tests.guidelines.factories import build_edition


@pytest.fixture
def two_editions(db):
    """2016 and 2021 of one guideline. In 2021: section-0 reworded, section-2 renumbered, section-4 moved to
    part 2, section-6 removed, and a new provision added."""
    old = build_edition(provisions=10, published_on=datetime.date(2016, 5, 1))
    draft = edition_start_from(edition=old, label="2021", slug="2021")
    versions = {v.provision.slug: v for v in draft.versions.select_related("provision")}
    part_2 = Provision.objects.get(guideline=old.guideline, slug="part-2")

    reworded = versions["section-0"]
    reworded.body = "Text of section 0. Investigators must keep written records of informed consent."
    reworded.change_note = "Written records."
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
    new = edition_publish(edition=draft, published_on=datetime.date(2021, 5, 1))
    return old, new
