import datetime

import pytest

from guidelines.services import edition_publish
from tests.guidelines.factories import build_edition, revise_edition


@pytest.fixture
def two_editions(db):
    """2016 and 2021 of one guideline. In 2021: section-0 reworded, section-2 renumbered, section-4 moved to
    part 2, section-6 removed, and a new provision added."""
    old = build_edition(provisions=10, published_on=datetime.date(2016, 5, 1))
    draft = revise_edition(old, change_note="Written records.")
    new = edition_publish(edition=draft, published_on=datetime.date(2021, 5, 1))
    return old, new
