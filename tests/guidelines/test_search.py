import datetime

import pytest

from guidelines.models import Edition, ProvisionVersion
from guidelines.selectors import search_provisions
from guidelines.services import edition_publish, edition_start_from
from tests.guidelines.factories import build_edition

pytestmark = pytest.mark.django_db


@pytest.fixture
def library():
    old = build_edition(provisions=6, published_on=datetime.date(2016, 1, 1))
    draft = edition_start_from(edition=old, label="2021", slug="2021")
    heading = draft.versions.get(number="1.1")
    heading.heading = "Chimeras and their welfare"
    heading.save()
    body = draft.versions.get(number="2.1")
    body.body = "Research that makes chimeras needs specialised review. <b>bold</b> & more."
    body.save()
    Edition.objects.filter(pk=draft.pk).update(change_summary="Chimeras.")
    new = edition_publish(edition=draft, published_on=datetime.date(2021, 1, 1))
    return old, new


def test_heading_hit_ranks_above_body_hit(library):
    results = search_provisions("chimeras")
    numbers = [result["hits"][0].number for result in results]
    assert numbers == ["1.1", "2.1"]


def test_snippets_highlight_matches_and_escape_the_text(client, library):
    body = client.get("/guidelines/search/", {"q": "chimeras"}).content.decode()
    assert "<mark>Chimeras</mark> and their welfare" in body
    assert "bold  &amp; more" in body  # ts_headline drops tag-like tokens; the rest is escaped
    assert "<b>bold</b>" not in body
    assert "makes <mark>chimeras</mark> needs" in body
    assert f"/guidelines/{library[1].guideline.slug}/2021/#p-section-0" in body


def test_current_editions_by_default_all_editions_on_request(client, library):
    old, new = library
    assert search_provisions("Text section")
    assert all(hit.edition_id == new.pk for result in search_provisions("Text section") for hit in result["hits"])
    grouped = search_provisions("Text section", all_editions=True)
    editions = {hit.edition_id for result in grouped for hit in result["hits"]}
    assert editions == {old.pk, new.pk}
    # Grouped by provision: each provision once, with both editions' hits.
    assert len(grouped) == len({result["provision"].pk for result in grouped})
    body = client.get("/guidelines/search/", {"q": "text section", "editions": "all"}).content.decode()
    assert "Also in:" in body


@pytest.mark.parametrize(
    "query", ["' OR 1=1 --", "x" * 5000, "&|!:*", "", "   ", '"unclosed', "<script>alert(1)</script>", "nul\x00byte"]
)
def test_hostile_queries_get_a_friendly_page(client, library, query):
    response = client.get("/guidelines/search/", {"q": query})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "Search the guidelines" in body


def test_search_skips_drafts(library):
    old, _new = library
    draft = build_edition(guideline=old.guideline, label="draft", provisions=4, publish=False)
    ProvisionVersion.objects.filter(edition=draft).update(heading="Unpublishedword")
    assert search_provisions("Unpublishedword", all_editions=True) == []
