"""Public news: scheduled publishing, drafts, members-only bodies, list, detail, feeds and sitemap."""

import datetime

import feedparser
import pytest
import time_machine
from django.urls import reverse

from society.models import NewsArticle
from society.page_cache import bump_content_version
from tests.factories import TermFactory, UserFactory
from tests.sitemaps import SITEMAP_NS, sitemap_entries, sitemap_locations, sitemap_text
from tests.society.factories import NewsArticleFactory, TopicFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)

PUBLIC_PLACES = ["list", "detail", "rss", "atom", "sitemap"]


def public_content(client, place, article):
    urls = {
        "list": reverse("news:list"),
        "detail": reverse("news:detail", kwargs={"slug": article.slug}),
        "rss": reverse("news:feed-rss"),
        "atom": reverse("news:feed-atom"),
        "sitemap": None,
    }
    if place == "sitemap":  # the index at /sitemap.xml, followed to each section, as a crawler reads it
        return 200, sitemap_text(client)
    response = client.get(urls[place])
    if place == "detail":
        return response.status_code, response.content.decode()
    assert response.status_code == 200
    return response.status_code, response.content.decode()


def appears(client, place, article):
    status, body = public_content(client, place, article)
    if place == "detail":
        return status == 200
    return article.slug in body


@pytest.mark.parametrize("place", PUBLIC_PLACES)
def test_scheduled_article_is_absent_before_its_time_and_present_after(client, place):
    with time_machine.travel(NOW, tick=False):
        article = NewsArticleFactory(slug="scheduled-one", publish_at=NOW + 3 * HOUR)
        assert not appears(client, place, article)
    with time_machine.travel(NOW + 3 * HOUR - datetime.timedelta(seconds=1), tick=False):
        assert not appears(client, place, article)
    with time_machine.travel(NOW + 3 * HOUR, tick=False):
        assert appears(client, place, article)


@pytest.mark.parametrize("place", PUBLIC_PLACES)
def test_drafts_are_never_public(client, place):
    with time_machine.travel(NOW, tick=False):
        # A draft that once had a time (unpublished) and one that never had.
        unpublished = NewsArticleFactory(slug="unpublished-one", status="draft", publish_at=NOW - 24 * HOUR)
        never = NewsArticleFactory(slug="never-published", draft=True)
        assert not appears(client, place, unpublished)
        assert not appears(client, place, never)


@time_machine.travel(NOW, tick=False)
def test_published_queryset_takes_the_time_to_compare_with():
    article = NewsArticleFactory(publish_at=NOW + HOUR)
    assert article not in NewsArticle.objects.published()
    assert article in NewsArticle.objects.published(now=NOW + HOUR)
    assert article in NewsArticle.objects.scheduled()


@time_machine.travel(NOW, tick=False)
def test_list_puts_pinned_first_then_newest():
    old_pinned = NewsArticleFactory(title="Old but pinned", publish_at=NOW - 100 * HOUR, pinned=True)
    newest = NewsArticleFactory(title="Newest", publish_at=NOW - HOUR)
    older = NewsArticleFactory(title="Older", publish_at=NOW - 2 * HOUR)
    from django.test import Client

    response = Client().get(reverse("news:list"))
    assert [a.pk for a in response.context["articles"]] == [old_pinned.pk, newest.pk, older.pk]


@time_machine.travel(NOW, tick=False)
def test_list_is_paginated(client):
    for index in range(13):
        NewsArticleFactory(publish_at=NOW - (index + 1) * HOUR)
    first = client.get(reverse("news:list"))
    second = client.get(reverse("news:list"), {"page": 2})
    assert len(first.context["articles"]) == 10
    assert len(second.context["articles"]) == 3
    assert 'rel="next"' in first.content.decode()
    assert client.get(reverse("news:list"), {"page": 9}).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_list_filters_by_topic(client):
    meetings = TopicFactory(name="Meetings", slug="meetings")
    policy = TopicFactory(name="Policy", slug="policy")
    meeting = NewsArticleFactory(title="Annual meeting", topics=[meetings])
    statement = NewsArticleFactory(title="A statement", topics=[policy])
    response = client.get(reverse("news:list"), {"topic": "meetings"})
    assert list(response.context["articles"]) == [meeting]
    assert statement.title not in response.content.decode()
    assert "News about Meetings" in response.content.decode()
    assert client.get(reverse("news:list"), {"topic": "no-such-topic"}).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_detail_has_open_graph_twitter_canonical_and_dates(client, settings):
    settings.SITE_URL = "https://society.example"
    article = NewsArticleFactory(
        title="New guidelines", slug="new-guidelines", summary="What changed.", publish_at=NOW - 48 * HOUR
    )
    body = client.get(article.get_absolute_url()).content.decode()
    assert '<link rel="canonical" href="https://society.example/news/new-guidelines/">' in body
    assert '<meta property="og:title" content="New guidelines">' in body
    assert '<meta property="og:description" content="What changed.">' in body
    assert '<meta property="og:url" content="https://society.example/news/new-guidelines/">' in body
    assert '<meta property="og:type" content="article">' in body
    assert '<meta name="twitter:card" content="summary">' in body
    assert '<meta property="article:published_time" content="2026-11-23T12:00:00+00:00">' in body
    assert '<time datetime="2026-11-23T12:00:00+00:00">Nov. 23, 2026</time>' in body
    assert body.count("<h1") == 1


@time_machine.travel(NOW, tick=False)
def test_detail_shows_an_updated_date_only_after_a_real_edit(client):
    article = NewsArticleFactory(publish_at=NOW - 48 * HOUR)
    NewsArticle.objects.filter(pk=article.pk).update(updated_at=NOW - 48 * HOUR)
    assert "Updated" not in client.get(article.get_absolute_url()).content.decode()
    NewsArticle.objects.filter(pk=article.pk).update(updated_at=NOW)
    bump_content_version()  # QuerySet.update() sends no signal; the site's edits all save the row
    body = client.get(article.get_absolute_url()).content.decode()
    assert 'Updated <time datetime="2026-11-25T12:00:00+00:00">' in body


@time_machine.travel(NOW, tick=False)
def test_detail_dates_follow_the_language(client):
    article = NewsArticleFactory(publish_at=NOW - 48 * HOUR)
    body = client.get(f"/de{article.get_absolute_url()}").content.decode()
    assert "23. November 2026" in body


@time_machine.travel(NOW, tick=False)
def test_body_is_rendered_markdown_and_sanitised(client):
    article = NewsArticleFactory(body="Hello **world** <script>alert(1)</script>")
    body = client.get(article.get_absolute_url()).content.decode()
    assert "<strong>world</strong>" in body
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)" in body


# --- Members-only articles -------------------------------------------------


@pytest.fixture
def members_article():
    with time_machine.travel(NOW, tick=False):
        return NewsArticleFactory(
            title="Board minutes", summary="What the board decided.", body="SECRET-BODY-TEXT", members_only=True
        )


def member_with_term_ending(end):
    user = UserFactory()
    TermFactory(membership__user=user, end=end)
    return user


def test_members_only_list_shows_title_and_summary_to_everyone(client, members_article):
    with time_machine.travel(NOW, tick=False):
        body = client.get(reverse("news:list")).content.decode()
    assert "Board minutes" in body
    assert "What the board decided." in body
    assert "Members only" in body
    assert "SECRET-BODY-TEXT" not in body


def test_members_only_body_is_hidden_from_anonymous_visitors_with_a_friendly_prompt(client, members_article):
    with time_machine.travel(NOW, tick=False):
        response = client.get(members_article.get_absolute_url())
    body = response.content.decode()
    assert response.status_code == 200
    assert "SECRET-BODY-TEXT" not in body
    assert "What the board decided." in body
    assert "This article is for members" in body
    assert f"{reverse('account_login')}?next={members_article.get_absolute_url()}" in body
    assert reverse("account_signup") in body


@pytest.mark.parametrize(
    ("days_to_end", "can_read"),
    [
        (200, True),  # active
        (30, True),  # expiring, in the renewal window
        (-10, True),  # grace
        (-31, False),  # lapsed
    ],
)
def test_members_only_body_follows_membership_access(client, members_article, days_to_end, can_read):
    with time_machine.travel(NOW, tick=False):
        user = member_with_term_ending(NOW.date() + datetime.timedelta(days=days_to_end))
        client.force_login(user)
        response = client.get(members_article.get_absolute_url())
    assert response.status_code == 200
    assert ("SECRET-BODY-TEXT" in response.content.decode()) is can_read
    assert ("This article is for members" in response.content.decode()) is not can_read


def test_account_without_membership_sees_the_prompt(client, members_article, member):
    client.force_login(member)
    with time_machine.travel(NOW, tick=False):
        body = client.get(members_article.get_absolute_url()).content.decode()
    assert "SECRET-BODY-TEXT" not in body
    assert reverse("members:home") in body


@pytest.mark.parametrize("place", ["rss", "atom"])
def test_feeds_leave_members_only_articles_out(client, members_article, place):
    with time_machine.travel(NOW, tick=False):
        _, body = public_content(client, place, members_article)
    assert members_article.slug not in body


# --- Feeds -------------------------------------------------------------------


@pytest.mark.parametrize(("url_name", "version"), [("news:feed-rss", "rss20"), ("news:feed-atom", "atom10")])
@time_machine.travel(NOW, tick=False)
def test_feeds_parse_without_bozo_with_summaries_dates_and_ids(client, url_name, version):
    topic = TopicFactory(name="Policy & ethics", slug="policy")
    first = NewsArticleFactory(
        title="Statement <on> editing & more",
        summary="Full summary & details.",
        publish_at=NOW - 2 * HOUR,
        topics=[topic],
    )
    NewsArticleFactory(title="Second", publish_at=NOW - 3 * HOUR)
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == version
    assert len(feed.entries) == 2
    entry = feed.entries[0]
    assert entry.title == "Statement <on> editing & more"
    assert entry.summary == "Full summary & details."
    assert entry.link == f"http://localhost:8000{first.get_absolute_url()}"
    assert entry.id == f"tag:localhost,2026-11-25:news/{first.pk}"
    assert entry.published_parsed[:5] == (2026, 11, 25, 10, 0)
    assert [tag.term for tag in entry.tags] == ["Policy & ethics"]


@time_machine.travel(NOW, tick=False)
def test_feed_ids_survive_a_slug_change(client):
    article = NewsArticleFactory(slug="first-slug")
    before = feedparser.parse(client.get(reverse("news:feed-atom")).content).entries[0].id
    NewsArticle.objects.filter(pk=article.pk).update(slug="corrected-slug")
    after = feedparser.parse(client.get(reverse("news:feed-atom")).content).entries[0].id
    assert before == after


# --- Sitemap ----------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_sitemap_is_valid_xml_listing_published_items_with_lastmod(client):
    live = NewsArticleFactory(slug="live-one")
    members = NewsArticleFactory(slug="members-one", members_only=True)
    NewsArticleFactory(slug="draft-one", draft=True)
    NewsArticleFactory(slug="future-one", publish_at=NOW + HOUR)
    assert "http://localhost:8000/sitemap-news.xml" in sitemap_locations(client)
    entries = sitemap_entries(client)
    locations = set(entries)
    assert f"http://localhost:8000{live.get_absolute_url()}" in locations
    assert f"http://localhost:8000{members.get_absolute_url()}" in locations  # its page is public
    assert not any("draft-one" in loc or "future-one" in loc for loc in locations)
    assert entries[f"http://localhost:8000{live.get_absolute_url()}"].findtext("s:lastmod", namespaces=SITEMAP_NS) == (
        "2026-11-25"
    )
    assert "http://localhost:8000/" in locations
    assert "http://localhost:8000/news/" in locations


# --- Query counts -------------------------------------------------------------


def bulk_articles(count, topics):
    articles = NewsArticle.objects.bulk_create(
        NewsArticle(
            title=f"Bulk {index}",
            slug=f"bulk-{index}",
            summary="Summary.",
            body="Body.",
            body_html="<p>Body.</p>",
            status="published",
            publish_at=NOW - datetime.timedelta(minutes=index + 1),
            audience="members" if index % 3 == 0 else "public",
        )
        for index in range(count)
    )
    through = NewsArticle.topics.through
    through.objects.bulk_create(
        through(newsarticle_id=article.pk, topic_id=topic.pk) for article in articles for topic in topics
    )


@pytest.mark.parametrize("count", [10, 1000])
@time_machine.travel(NOW, tick=False)
def test_news_list_query_count_does_not_grow_with_articles(client, django_assert_max_num_queries, settings, count):
    settings.PAGE_CACHE_ENABLED = False  # the render itself is measured, not the page cache
    topics = [TopicFactory(), TopicFactory()]
    bulk_articles(count, topics)
    client.get(reverse("news:list"))  # warm the session and any per-process caches
    with django_assert_max_num_queries(5):
        response = client.get(reverse("news:list"))
    assert len(response.context["articles"]) == 10
    assert response.content.decode().count('class="topic-list"') == 10


def test_detail_links_the_related_guideline_editions(client, django_assert_max_num_queries):
    from tests.guidelines.factories import GuidelineFactory, build_edition

    article = NewsArticleFactory(slug="new-edition-out", publish_at=NOW - HOUR)
    for index in range(4):
        article.related_editions.add(
            build_edition(guideline=GuidelineFactory(title=f"Guideline {index}"), provisions=3)
        )
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(8):
        body = client.get("/news/new-edition-out/").content.decode()
    assert "Related guideline editions" in body
    for edition in article.related_editions.all():
        assert f'href="{edition.get_absolute_url()}"' in body
