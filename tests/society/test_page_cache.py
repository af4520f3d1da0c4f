"""Anonymous public pages are the same bytes for everyone: no cookie, no session, HTTP caching headers a CDN
can act on, and a full-page cache in Redis that a publish refreshes at once. Members always get fresh pages."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse, translate_url
from django.utils import translation

from guidelines.services import edition_publish
from society.models import ArticleStatus, NewsArticle, OutgoingEmail
from society.page_cache import content_version, is_content_model
from society.services.mail import email_enqueue
from society.services.news import article_publish
from tests.factories import UserFactory
from tests.guidelines.factories import build_edition
from tests.society.factories import NewsArticleFactory, PageFactory, TopicFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)
PUBLIC_CACHE_CONTROL = {"public", "max-age=60", "stale-while-revalidate=600"}


def cache_control(response):
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def vary(response):
    return {part.strip() for part in response.get("Vary", "").split(",") if part.strip()}


@pytest.fixture
def public_urls(db):
    old = build_edition(label="2016", provisions=4)
    new = build_edition(guideline=old.guideline, label="2025", provisions=4, published_on=datetime.date(2025, 3, 1))
    provision = old.versions.select_related("provision").filter(kind="section").first().provision
    slugs = {"guideline": old.guideline.slug, "provision": provision.slug}
    with translation.override(settings.LANGUAGE_CODE):
        return [
            reverse("about"),
            PageFactory().get_absolute_url(),
            reverse("news:list"),
            NewsArticleFactory(publish_at=NOW - datetime.timedelta(days=1)).get_absolute_url(),
            reverse("news:feed-rss"),
            reverse("news:feed-atom"),
            reverse("guidelines:list"),
            reverse("guidelines:guideline", kwargs={"guideline": old.guideline.slug}),
            old.get_absolute_url(),
            reverse("guidelines:provision", kwargs={**slugs, "edition": old.slug}),
            reverse("guidelines:compare", kwargs={"guideline": old.guideline.slug, "old": old.slug, "new": new.slug}),
            reverse("guidelines:provision-history", kwargs=slugs),
            reverse("guidelines:search") + "?q=text",
            reverse("guidelines:feed"),
            reverse("guidelines:changes-feed", kwargs={"guideline": old.guideline.slug}),
            reverse("guidelines:provision-feed", kwargs=slugs),
        ]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("code", ["en", "es"])
def test_anonymous_public_pages_set_no_cookie_and_are_publicly_cacheable(client, public_urls, code):
    with translation.override(settings.LANGUAGE_CODE):
        urls = [translate_url(url, code) for url in public_urls]
    for url in [*urls, "/sitemap.xml", "/sitemap-news.xml"]:
        for attempt in ("rendered", "from the cache"):
            response = client.get(url)
            assert response.status_code == 200, (url, attempt)
            assert not response.cookies, (url, attempt)
            assert cache_control(response) == PUBLIC_CACHE_CONTROL, (url, attempt)
            # Only the session cookie (a member's header) changes the bytes; never the browser's languages.
            assert vary(response) == {"Cookie"}, (url, attempt)
            assert response["ETag"], url
            assert response["Last-Modified"], url
        assert "csrfmiddlewaretoken" not in response.content.decode(), url
    assert not client.cookies


@time_machine.travel(NOW, tick=False)
def test_member_and_account_pages_are_private_and_never_stored(client_logged_in, public_urls):
    for url in ["/membership/", "/membership/profile/", public_urls[2]]:
        response = client_logged_in.get(url)
        assert response.status_code == 200
        assert {"private", "no-store"} <= cache_control(response), url
        assert "public" not in cache_control(response)
    assert {"private", "no-store"} <= cache_control(client_logged_in.get(reverse("account_email")))


@time_machine.travel(NOW, tick=False)
def test_a_member_never_gets_the_anonymous_cached_page_nor_another_members(client, public_urls):
    ana, kofi = UserFactory(full_name="Ana Lima"), UserFactory(full_name="Kofi Mensah")
    news = public_urls[2]
    assert "Log in" in client.get(news).content.decode()
    assert client.get(news).content == client.get(news).content  # served from the cache now
    for member, other in ((ana, kofi), (kofi, ana)):
        client.force_login(member)
        body = client.get(news).content.decode()
        assert "Log out" in body
        assert "Log in" not in body
        profile = client.get("/membership/profile/").content.decode()
        assert member.full_name in profile
        assert other.full_name not in profile
        client.logout()
    # The anonymous entry was not replaced by a member's page.
    client.cookies.clear()
    assert "Log in" in client.get(news).content.decode()


@time_machine.travel(NOW, tick=False)
def test_publishing_an_article_shows_at_once_on_the_cached_list_and_home(client):
    draft = NewsArticleFactory(title="Lead limits revised", status=ArticleStatus.DRAFT)
    for url in ("/", "/news/", "/es/news/"):
        assert "Lead limits revised" not in client.get(url).content.decode()
    article_publish(article=draft)
    for url in ("/", "/news/", "/es/news/"):
        assert "Lead limits revised" in client.get(url).content.decode(), url


@time_machine.travel(NOW, tick=False)
def test_publishing_an_edition_shows_at_once_on_the_cached_list_and_home(client):
    draft = build_edition(label="2031 draft", provisions=4, publish=False)
    for url in ("/", "/guidelines/"):
        assert "2031 draft" not in client.get(url).content.decode()
    edition_publish(edition=draft)
    for url in ("/", "/guidelines/"):
        assert "2031 draft" in client.get(url).content.decode(), url


def test_only_a_change_to_what_public_pages_show_makes_the_cache_out_of_date():
    article = NewsArticleFactory(title="Lead limits revised")
    topic = TopicFactory()
    before = content_version()
    email_enqueue(to="ana@lab.example", subject="Receipt", text="Paid.", kind="receipt")
    assert content_version() == before
    article.topics.add(topic)
    assert content_version() != before
    assert not is_content_model(OutgoingEmail)
    assert is_content_model(NewsArticle.topics.through)


@time_machine.travel(NOW, tick=False)
def test_a_scheduled_article_is_not_hidden_by_a_page_cached_before_its_time(client):
    NewsArticleFactory(title="Embargoed statement", publish_at=NOW + datetime.timedelta(minutes=5))
    assert "Embargoed statement" not in client.get("/news/").content.decode()
    with time_machine.travel(NOW + datetime.timedelta(minutes=6), tick=False):
        assert "Embargoed statement" in client.get("/news/").content.decode()


@time_machine.travel(NOW, tick=False)
def test_a_matching_etag_answers_304_without_a_body(client, public_urls):
    first = client.get("/news/")
    again = client.get("/news/", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert not again.content
    assert client.get("/news/", headers={"If-None-Match": '"other"'}).status_code == 200


def test_search_is_cached_under_its_normalised_query(client, public_urls, settings):
    first = client.get("/guidelines/search/", {"q": "  section   heading "})
    second = client.get("/guidelines/search/?q=section+heading")
    assert first.status_code == second.status_code == 200
    assert first["ETag"] == second["ETag"]
    assert first["Last-Modified"] == second["Last-Modified"]


@time_machine.travel(NOW, tick=False)
def test_public_pages_render_while_the_cache_is_down(client, settings, private_redis, public_urls):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": private_redis.url}}
    private_redis.stop()
    for url in ["/", *public_urls]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert cache_control(response) == PUBLIC_CACHE_CONTROL


def test_a_cached_page_costs_no_query_and_the_switch_turns_the_cache_off(
    client, settings, public_urls, django_assert_num_queries, django_assert_max_num_queries
):
    client.get("/news/")
    with django_assert_num_queries(0):
        assert client.get("/news/").status_code == 200
    settings.PAGE_CACHE_ENABLED = False
    with django_assert_max_num_queries(20) as queries:
        assert client.get("/news/").status_code == 200
    assert len(queries) > 0


def test_a_spanish_browser_is_sent_to_the_spanish_home_from_the_front_door_only(client):
    response = client.get("/", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    assert response.status_code == 302
    assert response.url == "/es/"
    assert vary(response) == {"Accept-Language", "Cookie"}
    assert not response.cookies
    # Every other public URL is one page in one language, whatever the browser prefers.
    news = client.get("/news/", headers={"Accept-Language": "es"})
    assert news.status_code == 200
    assert '<html lang="en"' in news.content.decode()
    assert "Accept-Language" not in news.get("Vary", "")


def test_an_english_browser_gets_the_english_home_which_varies_on_its_languages(client):
    for header in ("en-GB,en;q=0.9,es;q=0.5", "xx-unknown", ""):
        response = client.get("/", headers={"Accept-Language": header} if header else {})
        assert response.status_code == 200, header
        assert vary(response) == {"Accept-Language", "Cookie"}
        assert '<html lang="en"' in response.content.decode()


def test_choosing_english_in_the_switcher_sticks_for_a_spanish_browser(client):
    spanish = {"Accept-Language": "es"}
    home = client.get("/es/", headers=spanish).content.decode()
    switch = reverse("language-switch", args=["en"]) + "?next=/"
    assert f'href="{switch}"' in home
    response = client.get(switch, headers=spanish)
    assert response.status_code == 302
    assert response.url == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    again = client.get("/", headers=spanish)
    assert again.status_code == 200
    assert '<html lang="en"' in again.content.decode()
