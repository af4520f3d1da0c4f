import io
from types import SimpleNamespace

import pytest

from guidelines import demo
from guidelines.diff import compare_editions
from guidelines.models import Edition
from guidelines.selectors import outdated_translations

pytestmark = pytest.mark.django_db


def _comparison(old, new):
    return compare_editions(old, new, list(old.versions.in_reading_order()), list(new.versions.in_reading_order()))


def test_demo_library_shows_every_kind_of_change():
    demo.seed(SimpleNamespace(stdout=io.StringIO()))
    editions = {e.slug: e for e in Edition.objects.filter(guideline__slug="stem-cell-research")}
    assert set(editions) == {"2016", "2021", "2025"}
    assert all(edition.is_published for edition in editions.values())
    assert 55 <= editions["2021"].versions.count() <= 65
    counts = _comparison(editions["2016"], editions["2021"]).counts
    assert all(counts[status] > 0 for status in ("added", "removed", "changed", "moved", "unchanged")), counts
    update = _comparison(editions["2021"], editions["2025"]).counts
    assert (update["changed"], update["added"], update["removed"]) == (3, 1, 1)
    assert Edition.objects.current().get(guideline__slug="stem-cell-research") == editions["2025"]

    spanish = Edition.objects.get(slug="2023-es")
    assert spanish.translation_of.slug == "2023"
    outdated = outdated_translations(spanish, list(spanish.versions.all()))
    assert [v.provision.slug for v in spanish.versions.filter(provision_id__in=outdated)] == ["mycoplasma"]
