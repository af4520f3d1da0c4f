"""What every page shares is rendered once per worker (society/chrome.py), a cached public page is answered from
the worker's memory while it is current (society/page_cache.py), and a member's status is read once per request:
never at the cost of one visitor's token, link or language showing on another's page."""

import datetime
import re

import pytest
import time_machine
from django import forms
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from members.forms.accounts import QuickSelect
from members.services.memberships import membership_cancel
from society import chrome, page_cache
from tests.factories import MembershipFactory, StaffFactory, TermFactory, UserFactory
from tests.society.factories import PageFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)
MEMBERSHIP = reverse("members:home")
DIRECTORY = reverse("members:directory")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


def current_member(**fields):
    user = UserFactory(**fields)
    TermFactory(membership=MembershipFactory(user=user), end=TODAY + datetime.timedelta(days=200))
    return user


def lapsed_member(**fields):
    user = UserFactory(**fields)
    TermFactory(membership=MembershipFactory(user=user), end=TODAY - datetime.timedelta(days=400))
    return user


def rendered(response):
    return [template.name for template in response.templates]


def signed_in(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_header_and_footer_are_rendered_once_for_the_same_kind_of_page():
    client = signed_in(current_member())
    first = client.get(MEMBERSHIP)
    second = client.get(MEMBERSHIP)
    assert {"includes/_header.html", "includes/_footer.html"} <= set(rendered(first))
    assert "includes/_header.html" not in rendered(second)
    assert "includes/_footer.html" not in rendered(second)
    # Same markup either way, tokens aside.
    assert TOKEN.sub("", first.content.decode()) == TOKEN.sub("", second.content.decode())


def test_each_member_gets_their_own_csrf_token_in_the_kept_header():
    alice, bob = current_member(), current_member()
    clients = [signed_in(alice, enforce_csrf_checks=True), signed_in(bob, enforce_csrf_checks=True)]
    tokens = []
    for client in clients:
        body = client.get(MEMBERSHIP).content.decode()
        assert chrome.CSRF_PLACEHOLDER not in body
        tokens.append(TOKEN.findall(body)[0])
    assert tokens[0] != tokens[1]
    # Bob's token is no use with Alice's cookie; each one's own logs them out.
    assert clients[0].post(reverse("account_logout"), {"csrfmiddlewaretoken": tokens[1]}).status_code == 403
    for client, token in zip(clients, tokens, strict=True):
        assert client.post(reverse("account_logout"), {"csrfmiddlewaretoken": token}).status_code == 302
        assert "_auth_user_id" not in client.session


def test_the_directory_link_and_current_section_follow_the_visitor_not_the_kept_header():
    member, lapsed = current_member(), lapsed_member()
    for _round in range(2):
        assert f'href="{DIRECTORY}"' in signed_in(member).get(MEMBERSHIP).content.decode()
        assert f'href="{DIRECTORY}"' not in signed_in(lapsed).get(MEMBERSHIP).content.decode()
    client = signed_in(member)
    on_profile = client.get(reverse("members:profile")).content.decode()
    on_membership = client.get(MEMBERSHIP).content.decode()
    assert re.search(rf'href="{reverse("members:profile")}" aria-current="page"', on_profile)
    assert re.search(rf'href="{MEMBERSHIP}" aria-current="page"', on_membership)
    assert not re.search(rf'href="{reverse("members:profile")}" aria-current="page"', on_membership)


def test_a_page_added_to_the_footer_shows_on_the_next_page():
    client = signed_in(current_member())
    client.get(MEMBERSHIP)
    PageFactory(title="Code of conduct", slug="conduct", in_navigation=True)
    assert "Code of conduct" in client.get(MEMBERSHIP).content.decode()


def test_the_kept_footer_is_in_the_readers_language():
    english = signed_in(current_member(language="en"))
    german = signed_in(current_member(language="de"))
    # English kept first, then German asked for the same page, then English again: each reads its own.
    assert "About the society" in english.get(MEMBERSHIP).content.decode()
    body = german.get(MEMBERSHIP).content.decode()
    assert '<html lang="de"' in body
    assert "Über die Gesellschaft" in body
    assert "About the society" not in body
    assert "About the society" in english.get(MEMBERSHIP).content.decode()


def membership_status_reads(queries):
    return [
        query["sql"]
        for query in queries
        if query["sql"].startswith("SELECT")
        and 'FROM "members_membership"' in query["sql"].split("WHERE")[0]
        and '"members_membership"."user_id" =' in query["sql"]
    ]


@pytest.mark.parametrize(("url", "reads"), [(MEMBERSHIP, 1), (DIRECTORY, 0)])
def test_a_member_page_reads_the_membership_only_for_what_it_shows(url, reads):
    """The membership page reads it to show it; the header's Directory link and the directory's door answer from
    the signed-in user's own row (User.membership_end)."""
    client = signed_in(current_member())
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(membership_status_reads(queries.captured_queries)) == reads


def test_a_cancelled_membership_closes_the_directory_on_the_next_request():
    member = current_member()
    client = signed_in(member)
    assert f'href="{DIRECTORY}"' in client.get(MEMBERSHIP).content.decode()
    membership_cancel(membership=member.membership, reason="Asked to leave", by=StaffFactory())
    assert client.get(DIRECTORY).status_code == 403
    assert f'href="{DIRECTORY}"' not in client.get(reverse("members:profile")).content.decode()


def test_quick_select_lists_choices_given_as_a_function_once_per_language():
    calls = []

    def colours():
        calls.append(translation.get_language())
        return [("", "—"), ("r", "Red"), ("g", "Green")]

    class Form(forms.Form):
        colour = forms.ChoiceField(choices=colours, widget=QuickSelect)

    QuickSelect._options_html.clear()
    QuickSelect._first_choice_empty.clear()
    with translation.override("en"):
        form = Form(initial={"colour": "g"})
        before = len(calls)
        first = str(form["colour"])
        cold = len(calls) - before
        second = str(Form(initial={"colour": "r"})["colour"])
        before = len(calls)
        str(form["colour"])
        warm = len(calls) - before
    with translation.override("fr"):
        before = len(calls)
        str(Form()["colour"])
        french = len(calls) - before
    assert '<option value="g" selected>Green</option>' in first
    assert '<option value="r" selected>Red</option>' in second
    assert 'value="g" selected' not in second
    # The options' markup and the `required` attribute's look at the first choice come from the function once
    # per language, not once per render.
    assert cold >= 1
    assert warm == 0
    assert french == cold


def test_a_cached_public_page_is_answered_from_the_workers_memory_while_current(client, django_assert_num_queries):
    page_cache.local_pages.clear()
    url = reverse("about")
    assert client.get(url).status_code == 200  # rendered and stored
    key = next(iter(page_cache.local_pages._items))
    # Gone from Redis, still current here: answered without rendering or a query.
    from django.core.cache import cache

    cache.delete(key)
    with django_assert_num_queries(0):
        again = client.get(url)
    assert again.status_code == 200
    assert not again.templates
    # A publish elsewhere (a new content version) is seen at once.
    page_cache.bump_content_version()
    fresh = client.get(url)
    assert "base.html" in rendered(fresh)


def test_a_kept_page_is_not_served_while_the_cache_is_away(client, settings):
    page_cache.local_pages.clear()
    url = reverse("about")
    client.get(url)
    assert len(page_cache.local_pages) == 1
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    caches["default"]["LOCATION"] = "redis://127.0.0.1:1/0"  # nothing listens: every call fails soft
    settings.CACHES = caches
    # The kept page is still in memory, but without the version nobody can tell it is current: rendered again.
    response = client.get(url)
    assert response.status_code == 200
    assert "base.html" in rendered(response)
