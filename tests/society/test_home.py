"""The home page: live figures, latest news, and a call to action that depends on who is looking."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from society.selectors import FIGURES_CACHE_KEY, society_figures
from tests.factories import TermFactory, UserFactory
from tests.society.factories import NewsArticleFactory
from tests.society.test_news import bulk_articles

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


def member_with_term_ending(days_from_today, country="DE"):
    user = UserFactory(country=country)
    TermFactory(membership__user=user, end=TODAY + datetime.timedelta(days=days_from_today))
    return user


def cta(response):
    return response.context["call_to_action"]


@time_machine.travel(NOW, tick=False)
def test_visitor_is_invited_to_join(client):
    response = client.get("/")
    assert cta(response).kind == "join"
    assert f'data-cta="join" href="{reverse("account_signup")}">Join the society<' in response.content.decode()


@pytest.mark.parametrize("days_from_today", [30, -10])  # in the renewal window; in grace
@time_machine.travel(NOW, tick=False)
def test_expiring_and_grace_members_are_asked_to_renew(client, days_from_today):
    client.force_login(member_with_term_ending(days_from_today))
    response = client.get("/")
    assert cta(response).kind == "renew"
    # members:renew arrives with the renewal feature; until then the membership page is the way to renew.
    assert cta(response).url in {reverse("members:home"), "/membership/renew/"}
    assert "Renew your membership" in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_active_member_goes_to_my_membership(client):
    client.force_login(member_with_term_ending(200))
    response = client.get("/")
    assert cta(response).kind == "membership"
    assert f'data-cta="membership" href="{reverse("members:home")}">My membership<' in response.content.decode()
    assert reverse("account_signup") not in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_figures_count_members_with_access_and_their_countries(client):
    member_with_term_ending(200, country="DE")
    member_with_term_ending(30, country="DE")
    member_with_term_ending(-10, country="JP")  # grace still counts
    member_with_term_ending(-100, country="KE")  # lapsed does not
    body = client.get("/").content.decode()
    assert "<strong>3</strong> members in <strong>2</strong> countries" in body


@time_machine.travel(NOW, tick=False)
def test_figures_are_cached_for_an_hour():
    member_with_term_ending(200)
    assert society_figures().members == 1
    member_with_term_ending(200)
    assert society_figures().members == 1  # from the cache
    # Redis expires the key by its own clock, which time_machine does not move: ask Redis for the TTL.
    redis_key = cache.make_and_validate_key(FIGURES_CACHE_KEY)
    assert 3590 < cache._cache.get_client(redis_key).ttl(redis_key) <= 3600
    cache.delete(FIGURES_CACHE_KEY)
    assert society_figures().members == 2


@time_machine.travel(NOW, tick=False)
def test_figures_are_hidden_while_there_are_no_members(client):
    assert "members in" not in client.get("/").content.decode()


@time_machine.travel(NOW, tick=False)
def test_home_shows_the_latest_three_public_published_articles(client):
    oldest = NewsArticleFactory(title="Oldest public", publish_at=NOW - 5 * datetime.timedelta(hours=1))
    newest = [
        NewsArticleFactory(title=f"Recent {index}", publish_at=NOW - datetime.timedelta(minutes=index + 1))
        for index in range(3)
    ]
    NewsArticleFactory(title="For members", members_only=True, publish_at=NOW - datetime.timedelta(seconds=5))
    NewsArticleFactory(title="Tomorrow", publish_at=NOW + datetime.timedelta(days=1))
    NewsArticleFactory(title="A draft", draft=True)
    response = client.get("/")
    assert list(response.context["latest_news"]) == newest
    body = response.content.decode()
    assert oldest.title not in body
    assert "For members" not in body
    assert "Tomorrow" not in body
    assert "A draft" not in body


@pytest.mark.parametrize("count", [10, 1000])
@time_machine.travel(NOW, tick=False)
def test_home_query_count_does_not_grow_with_articles_or_members(client, django_assert_max_num_queries, count):
    bulk_articles(count, topics=[])
    for _ in range(3):
        member_with_term_ending(200)
    client.force_login(member_with_term_ending(200))
    client.get("/")  # fills the figures cache, as the first visitor of the hour does
    # 7 for a member: the header asks once whether they may open the directory.
    with django_assert_max_num_queries(7):
        response = client.get("/")
    assert len(response.context["latest_news"]) == 3


def test_home_lists_the_current_edition_of_each_guideline_in_fixed_queries(client, django_assert_max_num_queries):
    from tests.guidelines.factories import GuidelineFactory, build_edition

    for index in range(5):
        guideline = GuidelineFactory(title=f"Guideline {index}")
        build_edition(guideline=guideline, label="2016", provisions=3, published_on=datetime.date(2016, 5, 1))
        build_edition(guideline=guideline, label="2021", provisions=3, published_on=datetime.date(2021, 5, 1))
    client.get("/")  # fills the figures cache
    with django_assert_max_num_queries(6):
        body = client.get("/").content.decode()
    assert body.count("2021 edition") == 5
    assert "2016 edition" not in body
    assert 'href="/guidelines/' in body
