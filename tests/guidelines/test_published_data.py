"""No data staff can store breaks a public page: slugs are URL slugs (database constraints), never a fixed
word of the URLs, and everything at its limits still renders on every page a reader or crawler visits."""

import io
import json
from urllib.parse import urlsplit

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from guidelines import urls as guideline_urls
from guidelines.exchange import MAX_BODY_CHARS, edition_export, edition_import
from guidelines.models import RESERVED_SLUGS, Edition, Guideline, Provision
from tests.guidelines.factories import EditionFactory, GuidelineFactory, ProvisionFactory, build_edition
from tests.sitemaps import sitemap_entries

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = ["/", "/guidelines/", "/guidelines/feed/", "/guidelines/search/?q=consent", "/sitemap.xml"]
BAD_SLUGS = ["x bad!", "a/b", "ünïcode", "", *RESERVED_SLUGS]
FACTORIES = {"guideline": GuidelineFactory, "edition": EditionFactory, "provision": ProvisionFactory}


def test_reserved_slugs_are_exactly_the_fixed_words_of_the_guideline_urls():
    words = {
        segment
        for pattern in guideline_urls.urlpatterns
        for segment in str(pattern.pattern).split("/")
        if segment and "<" not in segment
    }
    assert words == set(RESERVED_SLUGS)


@pytest.mark.parametrize("model", FACTORIES)
@pytest.mark.parametrize("slug", BAD_SLUGS)
def test_the_database_refuses_a_slug_no_url_can_hold(model, slug):
    with pytest.raises(IntegrityError), transaction.atomic():
        FACTORIES[model](slug=slug)


def _upload(data):
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "edition.json"
    return upload


def _assert_public_pages_answer():
    reader = Client()
    for url in PUBLIC_PAGES:
        assert reader.get(url).status_code == 200, url
    locations = [urlsplit(location).path for location in sitemap_entries(reader)]
    assert any("/guidelines/" in location for location in locations)
    for location in locations:
        assert reader.get(location).status_code == 200, location
    return locations


def test_staff_upload_of_an_unusable_slug_with_publish_is_refused_and_every_page_stays_up(superuser_client):
    data = edition_export(edition=build_edition(provisions=3))
    data["guideline"] = {"slug": "x bad!", "title": "Bad"}
    response = superuser_client.post(
        reverse("admin:guidelines_edition_import"), {"file": _upload(data), "publish": "on"}
    )
    assert response.status_code == 200
    assert "guideline.slug: “x bad!” is not a slug" in response.content.decode()
    assert not Guideline.objects.filter(title="Bad").exists()
    _assert_public_pages_answer()


def test_published_data_at_every_limit_breaks_no_public_page(client):
    markup = "<script>alert('x')</script> “Ω” & {{ x }} "
    provisions = [
        {
            "uid": f"{index}" + "u" * 63,
            "slug": f"{index}-" + "S_s-" * 29 + "s" * 2,
            "number": f"{index}." + "9" * 28,
            "heading": (markup + "h" * 300)[:300],
            "kind": kind,
            "parent": None if index == 1 else "1" + "u" * 63,
            "body": ("*Markdown* [link](javascript:alert(1)) <b>html</b>\n\n" + "word " * 4000)[:MAX_BODY_CHARS],
            "change_note": "n" * 500,
        }
        for index, kind in ((1, "part"), (2, "section"), (3, "recommendation"))
    ]
    data = {
        "format": "society-guideline-edition/1",
        "guideline": {"slug": "G-_" * 33 + "g", "title": (markup + "t" * 300)[:300], "summary": markup * 100},
        "edition": {
            "label": (markup + "l" * 100)[:100],
            "slug": "2028_" + "e" * 95,
            "kind": "correction",
            "language": "es",
            "published_on": "9999-12-31",
            "doi": "10.1000/" + "d" * 192,
            "change_summary": markup * 100,
        },
        "provisions": provisions,
    }
    edition = edition_import(data=data, publish=True)
    assert edition.is_published
    assert {len(edition.guideline.slug), len(edition.slug)} == {100}
    for provision in Provision.objects.filter(guideline=edition.guideline):
        assert len(provision.slug) == 120
        reverse("guidelines:provision", args=[edition.guideline.slug, edition.slug, provision.slug])
    locations = _assert_public_pages_answer()
    assert reverse("guidelines:provision", args=[edition.guideline.slug, edition.slug, provision.slug]) in locations
    assert client.get(f"{edition.get_absolute_url()[:-1]}.json").status_code == 200


def test_edition_uploads_above_the_limit_are_refused_before_parsing(superuser_client, settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    upload = io.BytesIO(b" " * (1024 * 1024 + 1))
    upload.name = "edition.json"
    response = superuser_client.post(reverse("admin:guidelines_edition_import"), {"file": upload})
    assert response.status_code == 200
    assert "The file is larger than 1 MB; please upload a smaller one." in response.content.decode()
    assert not Edition.objects.exists()
