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
    "query", ["' OR 1=1 --", "x" * 5000, "&|!:*", "", "   ", '"unclosed', "<script>alert(1)</script>"]
)
def test_hostile_queries_get_a_friendly_page(client, library, query):
    response = client.get("/guidelines/search/", {"q": query})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "Search the guidelines" in body


def test_a_nul_byte_in_the_query_gets_the_bad_request_page(client, library):
    # Refused at the door for every view (society.middleware), with a page that says why.
    response = client.get("/guidelines/search/", {"q": "nul\x00byte"})
    assert response.status_code == 400
    assert "not valid text" in response.content.decode()


def test_search_skips_drafts(library):
    old, _new = library
    draft = build_edition(guideline=old.guideline, label="draft", provisions=4, publish=False)
    ProvisionVersion.objects.filter(edition=draft).update(heading="Unpublishedword")
    assert search_provisions("Unpublishedword", all_editions=True) == []


def _translate(edition, *, language, label, texts):
    """A published translation of `edition` whose provision numbered n reads texts[n] = (heading, body)."""
    draft = Edition.objects.create(
        guideline=edition.guideline,
        label=label,
        slug=label,
        language=language,
        translation_of=edition,
        change_summary="Translated.",
    )
    copies = []
    for version in edition.versions.all():
        heading, body = texts.get(version.number, (version.heading, version.body))
        copy = ProvisionVersion(
            edition=draft,
            provision_id=version.provision_id,
            number=version.number,
            heading=heading,
            kind=version.kind,
            parent_id=version.parent_id,
            order=version.order,
            body=body,
            source_hash=version.content_hash,
        )
        copy.refresh_derived()
        copies.append(copy)
    ProvisionVersion.objects.bulk_create(copies)
    return edition_publish(edition=draft, published_on=edition.published_on)


@pytest.fixture
def translated(library):
    _old, new = library
    spanish = _translate(
        new,
        language="es",
        label="2021-es",
        texts={
            "1.1": ("Terapia celular", "Los ensayos con células madre necesitan revisión especializada."),
            "2.1": ("Quimeras", "Investigación sobre las quimeras y el bienestar de los animales."),
        },
    )
    return new, spanish


def test_each_version_is_indexed_in_its_editions_language(translated):
    _new, spanish = translated
    assert set(ProvisionVersion.objects.filter(edition=spanish).values_list("language", flat=True)) == {"es"}
    lexemes = ProvisionVersion.objects.filter(edition=spanish, number="1.1").values_list("search_vector", flat=True)
    # Spanish stemming: "células" and "celular" share the stem, and Spanish stop words are left out.
    assert "'celul':" in lexemes[0]
    assert "'los'" not in lexemes[0]
    assert "'con'" not in lexemes[0]


def test_spanish_query_finds_the_spanish_translation_with_stemming(client, translated):
    _new, spanish = translated
    results = search_provisions("células", language="es")
    assert [result["hits"][0].number for result in results] == ["1.1"]  # "Terapia celular" and "células"
    assert {hit.edition_id for result in results for hit in result["hits"]} == {spanish.pk}
    assert [r["hits"][0].number for r in search_provisions("quimera", language="es")] == ["2.1"]
    body = client.get("/guidelines/search/", {"q": "celular", "language": "es"}).content.decode()
    assert "Terapia <mark>celular</mark>" in body
    assert "<mark>células</mark> madre" in body
    assert f"/guidelines/{spanish.guideline.slug}/2021-es/#p-section-0" in body
    assert '<option value="es" lang="es" selected>' in body


def test_english_query_does_not_return_spanish_results_by_default(client, translated):
    new, _spanish = translated
    results = search_provisions("chimeras")
    assert {hit.edition_id for result in results for hit in result["hits"]} == {new.pk}
    # English words are not Spanish words: the English parse never matches Spanish text, and vice versa.
    assert search_provisions("quimeras") == []
    assert search_provisions("chimeras", language="es") == []
    body = client.get("/guidelines/search/", {"q": "chimeras"}).content.decode()
    assert "2021-es" not in body
    assert '<option value="en" lang="en" selected>' in body


def test_default_language_is_the_readers_when_editions_exist_in_it(client, translated):
    # The reader's language is the page's: /es/… for Spanish readers.
    body = client.get("/es/guidelines/search/", {"q": "quimeras"}).content.decode()
    assert "<mark>Quimeras</mark>" in body
    # No edition in French: French readers search the English originals.
    body = client.get("/fr/guidelines/search/", {"q": "chimeras"}).content.decode()
    assert "<mark>Chimeras</mark> and their welfare" in body
    # An unknown language value is ignored rather than an error.
    assert client.get("/guidelines/search/", {"q": "chimeras", "language": "xx"}).status_code == 200


def test_languages_without_a_postgres_configuration_use_simple(library):
    _old, new = library
    japanese = _translate(
        new, language="ja", label="2021-ja", texts={"1.1": ("キメラ 研究", "キメラ の 研究 には 審査 が 必要")}
    )
    assert [r["hits"][0].edition_id for r in search_provisions("キメラ", language="ja")] == [japanese.pk]
    assert search_provisions("キメラ") == []


def test_a_drafts_language_change_reindexes_its_text(library):
    _old, new = library
    draft = edition_start_from(edition=new, label="draft-es", slug="draft-es")
    draft.versions.filter(number="1.1").update(heading="Las células")
    Edition.objects.filter(pk=draft.pk).update(language="es")
    version = draft.versions.get(number="1.1")
    assert version.language == "es"
    assert "'celul':2A" in ProvisionVersion.objects.filter(pk=version.pk).values_list("search_vector", flat=True)[0]


def test_search_query_count_is_fixed(client, translated, django_assert_max_num_queries):
    _new, spanish = translated
    build_edition(provisions=60, published_on=datetime.date(2022, 1, 1))
    for language in ("en", "es"):
        with django_assert_max_num_queries(3):
            search_provisions("text section", language=language, all_editions=True)
    with django_assert_max_num_queries(8):
        assert client.get("/guidelines/search/", {"q": "section"}).status_code == 200
