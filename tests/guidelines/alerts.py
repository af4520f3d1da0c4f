"""Building blocks for the alert tests: a published edition with followers, and its revision."""

import datetime

from django.utils import timezone

from guidelines.models import AlertSubscription, Edition, Provision
from tests.guidelines.factories import revise_edition


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
    """revise_edition with section-0's "Investigators" reworded to "Researchers" (what the redline tests look for)."""
    reworded = "Text of section 0. Researchers must keep written records of informed consent."
    return revise_edition(old, label=label, slug=label.lower().replace(" ", "-"), kind=kind, reworded=reworded)


PUBLISHED_ON = datetime.date(2021, 5, 1)
