"""Pages staff edit: /about/ from the page with slug "about", other pages at /pages/<slug>/, footer links."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.sitemaps import sitemap_text
from tests.society.factories import PageFactory

pytestmark = pytest.mark.django_db


def test_about_falls_back_to_the_built_in_text_without_a_page(client):
    response = client.get(reverse("about"))
    assert response.status_code == 200
    assert "responsible translation to the clinic" in response.content.decode()


def test_about_is_served_from_the_about_page_when_staff_have_written_one(client):
    PageFactory(slug="about", title="About us", body="We are **the society**. <script>alert(1)</script>")
    body = client.get(reverse("about")).content.decode()
    assert "<h1>About us</h1>" in body
    assert "<strong>the society</strong>" in body
    assert "<script>alert(1)" not in body
    assert '<link rel="canonical" href="http://localhost:8000/about/">' in body
    response = client.get("/pages/about/")
    assert (response.status_code, response["Location"]) == (301, "/about/")


def test_other_pages_have_their_own_url(client):
    page = PageFactory(slug="governance", title="Governance", body="## Board\n\nThe board meets twice a year.")
    assert page.get_absolute_url() == "/pages/governance/"
    body = client.get(page.get_absolute_url()).content.decode()
    assert "<h1>Governance</h1>" in body
    assert "<h2>Board</h2>" in body
    assert client.get("/pages/no-such-page/").status_code == 404


def test_pages_in_navigation_are_linked_from_every_footer(client):
    PageFactory(slug="governance", title="Governance", in_navigation=True, navigation_order=2)
    PageFactory(slug="contact", title="Contact", in_navigation=True, navigation_order=1)
    PageFactory(slug="hidden", title="Hidden page", in_navigation=False)
    body = client.get(reverse("news:list")).content.decode()
    footer = body[body.index('<footer class="site-footer">') :]
    assert '<a href="/pages/governance/">Governance</a>' in footer
    assert footer.index("Contact") < footer.index("Governance")
    assert "Hidden page" not in footer


def test_the_footer_pages_come_from_the_cache_and_a_staff_edit_shows_at_once(client_logged_in):
    page = PageFactory(slug="governance", title="Governance", in_navigation=True)
    url = reverse("members:profile")

    def footer():
        body = client_logged_in.get(url).content.decode()
        return body[body.index('<footer class="site-footer">') :]

    assert "Governance" in footer()
    with CaptureQueriesContext(connection) as queries:
        assert "Governance" in footer()
    assert not any("society_page" in query["sql"] for query in queries.captured_queries)

    page.title = "Board and governance"
    page.save()
    assert "Board and governance" in footer()
    page.in_navigation = False
    page.save()
    assert "Board and governance" not in footer()


def test_pages_appear_in_the_sitemap_with_lastmod(client):
    PageFactory(slug="about", title="About")
    PageFactory(slug="governance", title="Governance")
    body = sitemap_text(client)
    assert "<loc>http://localhost:8000/pages/governance/</loc><lastmod>" in body
    assert body.count("<loc>http://localhost:8000/about/</loc>") == 1


def test_saving_only_the_body_also_stores_its_html():
    page = PageFactory(body="first")
    page.body = "*second*"
    page.save(update_fields=["body"])
    page.refresh_from_db()
    assert page.body_html == "<p><em>second</em></p>\n"
