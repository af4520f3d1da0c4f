"""The sitemap index at /sitemap.xml and its per-section sitemaps, paginated so that every provision's
pinned URL is reachable however large the library grows."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse

from guidelines.models import Edition, ProvisionVersion
from guidelines.services import edition_publish, edition_start_from
from tests.guidelines.factories import build_edition
from tests.sitemaps import sitemap_entries, sitemap_locations

pytestmark = pytest.mark.django_db

SECTIONS = ["static", "news", "pages", "guideline-editions", "guideline-provisions"]


def test_robots_txt_points_to_an_index_of_every_section(client):
    robots = client.get("/robots.txt").content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in robots
    assert sitemap_locations(client) == [f"http://localhost:8000/sitemap-{section}.xml" for section in SECTIONS]
    assert client.get("/sitemap-nonsense.xml").status_code == 404


def test_more_than_5000_provision_urls_are_all_reachable(client, django_assert_max_num_queries):
    # 2,600 provisions in two published editions: 5,200 pinned provision URLs, two sitemap pages.
    first = build_edition(provisions=2600, published_on=datetime.date(2016, 1, 1))
    second = edition_start_from(edition=first, label="2021", slug="2021")
    Edition.objects.filter(pk=second.pk).update(change_summary="Second.")
    edition_publish(edition=second, published_on=datetime.date(2021, 1, 1))
    locations = sitemap_locations(client)
    assert "http://localhost:8000/sitemap-guideline-provisions.xml?p=2" in locations
    index = client.get("/sitemap.xml").content.decode()
    # Each section's latest change, from one aggregate rather than from loading every URL.
    assert "<lastmod>2021-01-01</lastmod>" in index
    with django_assert_max_num_queries(12):
        client.get("/sitemap.xml")
    entries = sitemap_entries(client)
    provision_urls = {loc for loc in entries if "/section-" in loc or "/part-" in loc}
    # Every pinned URL once per language (English unprefixed): 8 x 5,200 URLs on 9 pages of 5,000.
    english = {loc for loc in provision_urls if loc.startswith("http://localhost:8000/guidelines/")}
    assert len(english) == ProvisionVersion.objects.published().count() == 5200
    assert len(provision_urls) == 5200 * len(settings.LANGUAGES)
    last = ProvisionVersion.objects.filter(edition=second).order_by("-order", "-pk").select_related("provision")[0]
    expected = reverse(
        "guidelines:provision",
        kwargs={"guideline": first.guideline.slug, "edition": "2021", "provision": last.provision.slug},
    )
    assert f"http://localhost:8000{expected}" in provision_urls
    assert (
        client.get(reverse("sitemap-section", kwargs={"section": "guideline-provisions"}) + "?p=10").status_code == 404
    )
