import datetime

import feedparser
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guidelines.models import Edition
from tests.guidelines.factories import build_edition
from tests.sitemaps import sitemap_text

pytestmark = pytest.mark.django_db


# The site layout's footer lists the staff pages flagged for navigation: one query on every page.
LAYOUT_QUERIES = 1


def _url(name, **kwargs):
    return reverse(f"guidelines:{name}", kwargs=kwargs)


def test_list_shows_each_guideline_with_current_and_past_editions(client, two_editions, django_assert_num_queries):
    old, new = two_editions
    build_edition(label="2019", published_on=datetime.date(2019, 1, 1))
    # guidelines, their published originals, the originals' translations
    with django_assert_num_queries(3 + LAYOUT_QUERIES):
        body = client.get("/guidelines/").content.decode()
    assert f'href="{new.get_absolute_url()}">2021</a>' in body
    assert f'href="{old.get_absolute_url()}">2016</a>' in body
    assert "May 1, 2016" in body


def test_guideline_url_shows_the_current_edition_with_contents_and_canonical(client, two_editions):
    old, new = two_editions
    response = client.get(_url("guideline", guideline=old.guideline.slug))
    body = response.content.decode()
    assert f'<link rel="canonical" href="http://testserver{new.get_absolute_url()}">' in body
    assert 'href="#p-section-0"' in body
    assert 'id="p-section-0"' in body
    assert "Current edition" in body
    assert "This edition has been superseded" not in body


def test_superseded_edition_shows_a_banner_linking_to_the_current_one(client, two_editions):
    old, new = two_editions
    body = client.get(old.get_absolute_url()).content.decode()
    assert "This edition has been superseded." in body
    assert f'<a href="{new.get_absolute_url()}" data-keep-place>' in body


def test_history_tags_say_when_a_provision_was_amended(client, two_editions):
    old, new = two_editions
    body = client.get(new.get_absolute_url()).content.decode()
    assert "[2016, amended 2021]" in body
    assert "[2021]" in body  # the new provision
    old_body = client.get(old.get_absolute_url()).content.decode()
    assert "amended" not in old_body


def test_pinned_provision_and_switcher_keep_place(client, two_editions):
    old, new = two_editions
    g = old.guideline.slug
    response = client.get(_url("provision", guideline=g, edition=old.slug, provision="section-2"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "1.2" in body
    assert "superseded" in body
    # The switcher and the banner lead to the same provision, renumbered 1.9, in 2021.
    assert f'href="{_url("provision", guideline=g, edition=new.slug, provision="section-2")}"' in body
    assert "2021 (1.9)" in body
    # A provision absent from an edition is said to be absent, not linked as if it were there.
    removed = client.get(_url("provision", guideline=g, edition=old.slug, provision="section-6")).content.decode()
    assert "(not in this edition)" in removed
    assert "This provision is not in the current edition" in removed


def test_current_provision_redirects_or_explains_its_removal(client, two_editions):
    old, new = two_editions
    g = old.guideline.slug
    response = client.get(_url("provision-current", guideline=g, provision="section-2"))
    assert response.status_code == 302
    assert response.url == _url("provision", guideline=g, edition=new.slug, provision="section-2")
    gone = client.get(_url("provision-current", guideline=g, provision="section-6"))
    assert gone.status_code == 410
    text = gone.content.decode()
    assert "It was removed in the 2021 edition." in text
    assert _url("provision", guideline=g, edition=old.slug, provision="section-6") in text
    assert client.get(_url("provision-current", guideline=g, provision="no-such")).status_code == 404


def test_timeline_lists_every_edition_with_change_notes(client, two_editions):
    old, new = two_editions
    body = client.get(_url("provision-history", guideline=old.guideline.slug, provision="section-0")).content.decode()
    assert "Added" in body
    assert "Amended" in body
    assert "Written records." in body
    assert (
        _url("compare-provision", guideline=old.guideline.slug, old=old.slug, new=new.slug, provision="section-0")
        in body
    )


def test_citation_names_edition_date_and_pinned_url(client, two_editions):
    old, _new = two_editions
    body = client.get(old.get_absolute_url()).content.decode()
    assert f"(2016). {old.guideline.title} (2016)." in body
    assert f"url = {{http://testserver{old.get_absolute_url()}}}" in body
    assert 'data-copy-target="cite-apa"' in body


def test_drafts_are_hidden_from_readers_and_previewed_by_staff(staff_client, two_editions):
    old, _new = two_editions
    draft = build_edition(guideline=old.guideline, label="draft", provisions=10, publish=False)
    reader = Client()
    assert reader.get(draft.get_absolute_url()).status_code == 404
    preview = _url("preview", guideline=old.guideline.slug, edition=draft.slug)
    assert reader.get(preview).status_code == 302  # to the admin login
    body = staff_client.get(preview).content.decode()
    assert "Draft preview." in body
    assert _url("compare", guideline=old.guideline.slug, old="2021", new=draft.slug) in body
    assert (
        staff_client.get(_url("compare", guideline=old.guideline.slug, old="2021", new=draft.slug)).status_code == 200
    )


def test_published_pages_revalidate_with_etag_and_last_modified(client, two_editions):
    _old, new = two_editions
    first = client.get(new.get_absolute_url())
    assert first["ETag"]
    assert first["Last-Modified"] == "Sat, 01 May 2021 00:00:00 GMT"
    again = client.get(new.get_absolute_url(), headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_a_new_edition_changes_the_etag_of_the_old_one(client, two_editions):
    old, new = two_editions
    before = client.get(old.get_absolute_url())["ETag"]
    build_edition(guideline=old.guideline, label="2025", provisions=10, published_on=datetime.date(2025, 1, 1))
    after = client.get(old.get_absolute_url(), headers={"if-none-match": before})
    assert after.status_code == 200
    assert "The current edition is 2025." in after.content.decode()


def test_feed_lists_new_editions(client, two_editions):
    feed = feedparser.parse(client.get("/guidelines/feed/").content)
    assert [entry.title.split(": ")[1] for entry in feed.entries] == ["2021", "2016"]


def test_sitemap_lists_editions_and_provisions(client, two_editions):
    old, new = two_editions
    body = sitemap_text(client)
    assert f"{new.get_absolute_url()}</loc>" in body
    assert _url("provision", guideline=old.guideline.slug, edition=old.slug, provision="section-6") in body


def _queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        # guideline, its editions, versions, history tags
        (lambda e: e.get_absolute_url(), 4),
        # guideline, its editions, both editions' versions
        (lambda e: _url("compare", guideline=e.guideline.slug, old=e.slug, new="copy"), 3),
        # guideline, editions, the version, its timeline, its history tag
        (lambda e: _url("provision", guideline=e.guideline.slug, edition=e.slug, provision="section-5"), 5),
        # ranked matches, their editions, highlights for the shown hits
        (lambda e: "/guidelines/search/?q=consent+records&editions=all", 3),
    ],
    ids=["edition", "compare", "provision", "search"],
)
def test_query_count_does_not_grow_with_provisions(client, page, expected):
    from guidelines.services import edition_publish, edition_start_from

    counts = []
    for size in (10, 300):
        edition = build_edition(provisions=size)
        copy = edition_start_from(edition=edition, label="Copy", slug="copy")
        Edition.objects.filter(pk=copy.pk).update(change_summary="Copy.")
        edition_publish(edition=copy, published_on=datetime.date(2017, 1, 1))
        counts.append(_queries(client, page(edition)))
    assert counts == [expected + LAYOUT_QUERIES, expected + LAYOUT_QUERIES]


def test_translation_flags_outdated_provisions_and_offers_languages(client, two_editions):
    from guidelines.exchange import edition_export, edition_import

    old, new = two_editions
    data = edition_export(edition=new)
    data["edition"].update({"slug": "2021-es", "label": "2021 (español)", "language": "es", "translation_of": new.slug})
    old_text = {v.provision.uid: v.content_hash for v in old.versions.select_related("provision")}
    for item in data["provisions"]:
        # section-0 was translated from its 2016 wording, which 2021 has since changed.
        item["source_hash"] = old_text.get(item["uid"]) if item["slug"] == "section-0" else item["content_hash"]
        item["heading"] = "ES " + item["heading"]
    translation = edition_import(data=data, publish=True)
    body = client.get(translation.get_absolute_url()).content.decode()
    assert body.count("may be out of date") == 1
    assert f'href="{new.get_absolute_url()}" lang="en" hreflang="en" data-keep-place>English</a>' in body
    english = client.get(new.get_absolute_url()).content.decode()
    assert f'href="{translation.get_absolute_url()}" lang="es"' in english
    changes = client.get(_url("what-changed", guideline=old.guideline.slug, edition=translation.slug))
    assert changes.url == _url("what-changed", guideline=old.guideline.slug, edition=new.slug)


def _translate(edition, language):
    from guidelines.exchange import edition_export, edition_import

    data = edition_export(edition=edition)
    data["edition"].update(
        {"slug": f"{edition.slug}-{language}", "label": f"{edition.label} ({language})", "language": language}
    )
    data["edition"]["translation_of"] = edition.slug
    return edition_import(data=data, publish=True)


def test_list_shows_the_current_editions_translations(client, two_editions, django_assert_num_queries):
    old, new = two_editions
    spanish, japanese = _translate(new, "es"), _translate(new, "ja")
    superseded_french = _translate(old, "fr")
    for index in range(5):  # more guidelines with translations: still the same queries
        other = build_edition(label=f"x{index}", published_on=datetime.date(2020, 1, 1))
        _translate(other, "de")
    with django_assert_num_queries(3 + LAYOUT_QUERIES):
        body = client.get("/guidelines/").content.decode()
    assert f'<a href="{spanish.get_absolute_url()}" lang="es" hreflang="es"' in body
    assert ">español</a>" in body
    assert f'<a href="{japanese.get_absolute_url()}" lang="ja" hreflang="ja"' in body
    assert ">日本語</a>" in body
    assert body.count(">Deutsch</a>") == 5 + 1  # and the footer's language switcher
    # Only the current edition's translations; a translation is never listed as an edition of its own.
    assert superseded_french.get_absolute_url() not in body
    assert f'href="{spanish.get_absolute_url()}">' not in body


def test_edition_page_links_its_translations_and_a_translation_links_its_original(client, two_editions):
    _old, new = two_editions
    spanish = _translate(new, "es")
    english = client.get(new.get_absolute_url()).content.decode()
    assert f'href="{spanish.get_absolute_url()}" lang="es" hreflang="es" data-keep-place>Spanish</a>' in english
    assert f'<link rel="alternate" hreflang="es" href="http://testserver{spanish.get_absolute_url()}">' in english
    assert "Translated from" not in english
    body = client.get(spanish.get_absolute_url()).content.decode()
    assert (
        f'<a href="{new.get_absolute_url()}" lang="en" hreflang="en" class="edition-header__original">'
        "Translated from the English original (2021)</a>"
    ) in body
    assert f'<link rel="alternate" hreflang="en" href="http://testserver{new.get_absolute_url()}">' in body


def test_each_provision_links_its_permalink_and_timeline_in_the_readers_language(client, two_editions):
    """The labels are translated once per page and each provision's number fills its hidden hint."""
    _old, new = two_editions
    body = client.get("/es" + new.get_absolute_url()).content.decode()
    section_0 = f"/es/guidelines/{new.guideline.slug}/{new.slug}/section-0/"
    assert f'href="{section_0}" class="no-print">Enlace permanente<span class="visually-hidden"> a 1.1</span>' in body
    assert 'class="no-print">Cronología<span class="visually-hidden"> de 1.9</span></a>' in body
    assert "[2016, enmendada en 2021]" in body
    assert body.count('class="no-print">Enlace permanente<span') == new.versions.count()
