"""Atom feeds of changes only: one per guideline, one per provision, linked from the reading pages, served
through the full-page cache, a fixed number of queries whatever the size of the guideline."""

import datetime
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.urls import reverse

from guidelines.models import Edition
from guidelines.services import edition_publish, edition_start_from
from tests.guidelines.factories import build_edition

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
NOW = datetime.datetime(2026, 12, 5, 12, tzinfo=datetime.UTC)


def atom(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root


def entries(root):
    return root.findall(f"{ATOM}entry")


def text(entry, name):
    return entry.find(f"{ATOM}{name}").text


def guideline_feed(guideline):
    return reverse("guidelines:changes-feed", kwargs={"guideline": guideline.slug})


def provision_feed(guideline, slug):
    return reverse("guidelines:provision-feed", kwargs={"guideline": guideline.slug, "provision": slug})


def republish_unchanged(edition, label, day):
    """A new edition with exactly the text of `edition`: it changes nothing."""
    draft = edition_start_from(edition=edition, label=label, slug=label)
    Edition.objects.filter(pk=draft.pk).update(change_summary="Nothing changed.")
    return edition_publish(edition=draft, published_on=day)


@time_machine.travel(NOW, tick=False)
def test_guideline_feed_lists_only_editions_that_changed_with_what_changed(client, two_editions):
    old, new = two_editions
    republish_unchanged(new, "2024", datetime.date(2024, 1, 1))
    root = atom(client.get(guideline_feed(old.guideline)))
    found = entries(root)
    # 2024 changed nothing and is left out; 2016 is the first edition (all added).
    assert [text(entry, "title") for entry in found] == ["2021: 5 changes", "2016: 10 changes"]
    latest = found[0]
    summary = text(latest, "summary")
    compare = f"http://localhost:8000/guidelines/{old.guideline.slug}/compare/2016/2021/"
    assert latest.find(f"{ATOM}link").get("href") == compare
    assert f'href="{compare}"' in summary
    for heading in ("Changed", "Added", "Removed", "Moved or renumbered"):
        assert f"<h3>{heading}</h3>" in summary
    # Pinned URLs: the new edition for what is in it, the old one for what was removed.
    assert f"/guidelines/{old.guideline.slug}/2021/section-0/" in summary
    assert f"/guidelines/{old.guideline.slug}/2016/section-6/" in summary
    # Unchanged provisions are not listed.
    assert "section-1/" not in summary
    assert {category.get("term") for category in latest.findall(f"{ATOM}category")} == {
        "added",
        "changed",
        "moved",
        "removed",
    }
    assert text(latest, "id").startswith("tag:localhost,2021-05-01:")


@time_machine.travel(NOW, tick=False)
def test_provision_feed_lists_only_the_editions_that_changed_it_with_the_redline(client, two_editions):
    old, new = two_editions
    republish_unchanged(new, "2024", datetime.date(2024, 1, 1))
    g = old.guideline
    reworded = entries(atom(client.get(provision_feed(g, "section-0"))))
    assert [text(entry, "title").split(":")[0] for entry in reworded] == ["2021", "2016"]
    summary = text(reworded[0], "summary")
    assert "<ins>" in summary
    assert "written" in summary
    assert reworded[0].find(f"{ATOM}link").get("href") == f"http://localhost:8000/guidelines/{g.slug}/2021/section-0/"
    assert f"/guidelines/{g.slug}/compare/2016/2021/section-0/" in summary
    assert [category.get("term") for category in reworded[0].findall(f"{ATOM}category")] == ["changed"]

    removed = entries(atom(client.get(provision_feed(g, "section-6"))))
    assert [category.get("term") for category in removed[0].findall(f"{ATOM}category")] == ["removed"]
    assert removed[0].find(f"{ATOM}link").get("href").endswith(f"/guidelines/{g.slug}/2016/section-6/")

    renumbered = entries(atom(client.get(provision_feed(g, "section-2"))))
    assert [category.get("term") for category in renumbered[0].findall(f"{ATOM}category")] == ["moved"]
    assert "Renumbered from 1.2 to 1.9." in text(renumbered[0], "summary")

    # Never changed after it was added: one entry, the first edition.
    unchanged = entries(atom(client.get(provision_feed(g, "section-1"))))
    assert [category.get("term") for category in unchanged[0].findall(f"{ATOM}category")] == ["added"]
    assert len(unchanged) == 1


def test_feeds_of_unknown_guidelines_and_provisions_are_404(client, two_editions):
    old, _new = two_editions
    assert client.get("/guidelines/no-such-guideline/feed/").status_code == 404
    assert client.get(provision_feed(old.guideline, "no-such-provision")).status_code == 404


def test_reading_pages_link_their_change_feeds(client, two_editions):
    old, new = two_editions
    g = old.guideline
    edition_page = client.get(new.get_absolute_url()).content.decode()
    assert f'type="application/atom+xml" title="{g.title}: changes" href="{guideline_feed(g)}"' in edition_page
    provision_page = client.get(
        reverse("guidelines:provision", kwargs={"guideline": g.slug, "edition": new.slug, "provision": "section-0"})
    ).content.decode()
    assert f'href="{provision_feed(g, "section-0")}"' in provision_page
    assert f'href="{guideline_feed(g)}"' in provision_page


def test_feeds_go_through_the_full_page_cache_and_a_publish_refreshes_them(client, two_editions):
    old, new = two_editions
    url = guideline_feed(old.guideline)
    first = client.get(url)
    assert "public" in first["Cache-Control"]
    assert first["ETag"]
    assert not first.cookies
    assert client.get(url).content == first.content
    draft = edition_start_from(edition=new, label="2026", slug="2026")
    version = draft.versions.get(provision__slug="section-1")
    version.body = "A new rule about consent."
    version.save()
    Edition.objects.filter(pk=draft.pk).update(change_summary="One change.")
    edition_publish(edition=draft, published_on=datetime.date(2026, 1, 1))
    assert text(entries(atom(client.get(url)))[0], "title") == "2026: 1 change"


def grown_guideline(provisions, editions):
    """A guideline of `editions` editions of `provisions` provisions, each edition rewording every provision."""
    edition = build_edition(provisions=provisions, published_on=datetime.date(2010, 1, 1))
    for year in range(2011, 2011 + editions - 1):
        draft = edition_start_from(edition=edition, label=str(year), slug=str(year))
        for version in draft.versions.all():
            version.body = f"{version.body} Amended in {year}."
            version.save()
        Edition.objects.filter(pk=draft.pk).update(change_summary="Amended.")
        edition = edition_publish(edition=draft, published_on=datetime.date(year, 1, 1))
    return edition


@pytest.mark.parametrize(("provisions", "editions"), [(4, 2), (40, 6)])
def test_feeds_take_a_fixed_number_of_queries_whatever_the_size(
    client, settings, django_assert_max_num_queries, provisions, editions
):
    settings.PAGE_CACHE_ENABLED = False  # count the rendering itself, not a cache hit
    latest = grown_guideline(provisions, editions)
    g = latest.guideline
    # guideline, its editions, the current Site (the syndication framework's), the versions of the editions shown
    with django_assert_max_num_queries(4):
        root = atom(client.get(guideline_feed(g)))
    assert len(entries(root)) == editions
    # guideline, its editions, the Site, the provision, its versions
    with django_assert_max_num_queries(5):
        root = atom(client.get(provision_feed(g, "section-0")))
    assert len(entries(root)) == editions
