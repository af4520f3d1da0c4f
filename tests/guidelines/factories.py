import datetime

import factory

from guidelines.models import Edition, Guideline, Provision, ProvisionVersion
from guidelines.services import edition_publish, edition_start_from


class GuidelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guideline

    title = factory.Sequence(lambda n: f"Guideline {n}")
    slug = factory.Sequence(lambda n: f"guideline-{n}")
    summary = "A guideline for tests."


class EditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Edition

    guideline = factory.SubFactory(GuidelineFactory)
    label = factory.Sequence(lambda n: str(2000 + n))
    slug = factory.LazyAttribute(lambda edition: edition.label.lower().replace(" ", "-"))
    change_summary = "What changed."


class ProvisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provision

    guideline = factory.SubFactory(GuidelineFactory)
    slug = factory.Sequence(lambda n: f"provision-{n}")


class ProvisionVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProvisionVersion

    edition = factory.SubFactory(EditionFactory)
    provision = factory.LazyAttribute(lambda version: ProvisionFactory(guideline=version.edition.guideline))
    number = factory.Sequence(lambda n: str(n + 1))
    heading = factory.Sequence(lambda n: f"Heading {n}")
    body = "Researchers must obtain consent."
    order = factory.Sequence(lambda n: n * 10)


def build_edition(*, guideline=None, label="2016", provisions=10, published_on=datetime.date(2016, 5, 1), publish=True):
    """An edition of `provisions` numbered provisions (two parts, the rest sections), published by default."""
    guideline = guideline or GuidelineFactory()
    edition = EditionFactory(guideline=guideline, label=label)
    parts = [_provision(guideline, f"part-{index}") for index in (1, 2)]
    ProvisionVersion.objects.bulk_create(
        [
            _version(edition, parts[0], "1", "Principles", "part", None, 0),
            _version(edition, parts[1], "2", "Practice", "part", None, 5000),
        ]
    )
    versions = []
    for index in range(provisions - 2):
        provision = _provision(guideline, f"section-{index}")
        part = parts[index % 2]
        versions.append(
            _version(
                edition,
                provision,
                f"{1 + index % 2}.{index // 2 + 1}",
                f"Section heading {index}",
                "section",
                part,
                (index % 2) * 5000 + index + 1,
                body=f"Text of section {index}. Investigators must keep records of consent.",
            )
        )
    ProvisionVersion.objects.bulk_create(versions)
    if publish:
        edition = edition_publish(edition=edition, published_on=published_on)
    return edition


def _provision(guideline, slug):
    return Provision.objects.get_or_create(guideline=guideline, slug=slug)[0]


def _version(edition, provision, number, heading, kind, parent, order, body="Text."):
    version = ProvisionVersion(
        edition=edition,
        provision=provision,
        number=number,
        heading=heading,
        kind=kind,
        parent=parent,
        order=order,
        body=body,
    )
    version.refresh_derived()
    return version


INVESTIGATORS = "Text of section 0. Investigators must keep written records of informed consent."


def revise_edition(old, *, label="2021", slug=None, kind=Edition.Kind.FULL, reworded=INVESTIGATORS, change_note=""):
    """A draft of `old` (from build_edition) with every kind of change, in part 1 and part 2 (sections with an even
    index sit in part 1, odd ones in part 2): section-0 reworded, section-2 renumbered, section-4 moved from part 1
    to part 2, section-6 removed, new-rule added in part 2. Odd sections stay as they were."""
    draft = edition_start_from(edition=old, label=label, slug=slug or label, kind=kind)
    versions = {v.provision.slug: v for v in draft.versions.select_related("provision")}
    part_2 = Provision.objects.get(guideline=old.guideline, slug="part-2")
    versions["section-0"].body = reworded
    versions["section-0"].change_note = change_note
    versions["section-0"].save()
    versions["section-2"].number = "1.9"
    versions["section-2"].save()
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
