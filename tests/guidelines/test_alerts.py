"""Following guidelines by email: the subscribe page behind the public pages' plain "Follow" links, double
opt-in, members' verified addresses, the manage page, and the RFC 8058 one-click unsubscribe."""

import re

import pytest
from django.core import mail
from django.db import IntegrityError
from django.urls import reverse

from guidelines.models import AlertSubscription
from guidelines.services.alerts import alert_link_urls
from tests.clients import Client
from tests.factories import UserFactory
from tests.guidelines.alerts import follow
from tests.guidelines.factories import build_edition
from tests.outbox import deliver_outbox

pytestmark = pytest.mark.django_db
FOLLOW = "/alerts/follow/"


@pytest.fixture
def edition(db):
    return build_edition(provisions=6)


def follow_data(edition, slug=None, **extra):
    data = {"guideline": edition.guideline.slug, "language": "en", **extra}
    if slug:
        data["provision"] = slug
    return data


def link_in(body, name):
    return re.search(rf"http://localhost:8000(/alerts/{name}/[^/\s]+/)", body).group(1)


def test_public_pages_link_to_the_follow_page_with_no_form_or_cookie(client, edition):
    provision_page = client.get(reverse("guidelines:provision", args=[edition.guideline.slug, edition.slug, "part-1"]))
    edition_page = client.get(edition.get_absolute_url())
    for response in (provision_page, edition_page):
        assert response.status_code == 200
        assert not response.cookies
        assert b"csrfmiddlewaretoken" not in response.content
        assert "public" in response["Cache-Control"]
    assert f'href="{FOLLOW}?guideline={edition.guideline.slug}&amp;provision=part-1&amp;language=en"' in (
        provision_page.content.decode()
    )
    assert f'href="{FOLLOW}?guideline={edition.guideline.slug}&amp;language=en"' in edition_page.content.decode()
    page = client.get(FOLLOW, {"guideline": edition.guideline.slug, "provision": "part-1"})
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content
    assert "no-store" in page["Cache-Control"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"guideline": "nope"},
        {"guideline": "GUIDE", "provision": "nope"},
        {"guideline": "GUIDE", "provision": "x" * 5000},
    ],
)
def test_the_follow_page_answers_404_for_an_unknown_target(client, edition, params):
    params = {key: value.replace("GUIDE", edition.guideline.slug) for key, value in params.items()}
    assert client.get(FOLLOW, params).status_code == 404
    assert client.post(FOLLOW, {**params, "email": "ana@lab.example"}).status_code == 404
    assert not AlertSubscription.objects.exists()


def test_a_provision_of_another_guideline_is_not_a_target(client, edition):
    other = build_edition(label="2019", provisions=4)
    response = client.post(
        FOLLOW,
        {**follow_data(edition, email="ana@lab.example"), "provision": "part-1", "guideline": other.guideline.slug},
    )
    assert response.status_code == 200  # part-1 of the other guideline, which it has too
    assert AlertSubscription.objects.get().guideline == other.guideline


def test_an_address_gets_nothing_until_it_confirms_and_the_confirm_link_needs_a_click(client, edition):
    response = client.post(FOLLOW, follow_data(edition, "part-1", email=" Ana@Lab.example", language="es"))
    assert response.status_code == 200
    assert b'<html lang="es"' in response.content
    subscription = AlertSubscription.objects.get()
    assert (subscription.email, subscription.status, subscription.language) == ("ana@lab.example", "pending", "es")
    deliver_outbox()
    assert [message.to for message in mail.outbox] == [["ana@lab.example"]]
    confirm = link_in(mail.outbox[0].body, "confirm")

    assert client.get(confirm).status_code == 200  # a mail scanner's fetch confirms nothing
    assert AlertSubscription.objects.get().status == "pending"
    assert client.post(confirm).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert subscription.confirmed_at is not None


def test_the_page_answers_the_same_for_an_address_already_following(client, edition):
    follow("known@lab.example", edition, "part-1")
    known = client.post(FOLLOW, follow_data(edition, "part-1", email="known@lab.example"))
    new = client.post(FOLLOW, follow_data(edition, "part-1", email="new@lab.example"))
    assert known.status_code == new.status_code == 200
    assert known.content.decode().replace("known@", "X@") == new.content.decode().replace("new@", "X@")
    assert AlertSubscription.objects.filter(email="known@lab.example", status="active").count() == 1


def test_the_follow_form_is_rate_limited_per_address(client, edition):
    for _ in range(3):
        assert client.post(FOLLOW, follow_data(edition, email="ana@lab.example")).status_code == 200
    assert client.post(FOLLOW, follow_data(edition, email="ana@lab.example")).status_code == 429
    assert deliver_outbox() == 3


@pytest.mark.parametrize("email", ["not-an-address", "a@b.example" + "x" * 300, ""])
def test_a_bad_address_is_refused_with_a_message_and_changes_nothing(client, edition, email):
    response = client.post(FOLLOW, follow_data(edition, email=email))
    assert response.status_code == 400
    assert not AlertSubscription.objects.exists()


def test_a_forged_confirm_link_changes_nothing(client, edition):
    client.post(FOLLOW, follow_data(edition, email="ana@lab.example"))
    deliver_outbox()
    confirm = link_in(mail.outbox[0].body, "confirm")
    assert client.post(confirm[:-3] + "xx/").status_code == 400
    assert AlertSubscription.objects.get().status == "pending"


def test_a_member_with_a_verified_address_follows_at_once_and_manages_on_the_profile(client, edition):
    member = UserFactory()
    client.force_login(member)
    page = client.get(FOLLOW, {"guideline": edition.guideline.slug, "provision": "part-2"})
    assert member.email in page.content.decode()
    assert client.post(FOLLOW, follow_data(edition, "part-2")).status_code == 200
    client.post(FOLLOW, follow_data(edition))
    subscriptions = AlertSubscription.objects.filter(user=member, status="active")
    assert subscriptions.count() == 2
    assert deliver_outbox() == 0  # no confirmation needed

    profile = client.get(reverse("members:profile")).content.decode()
    assert "2 Practice" in profile
    assert edition.guideline.title in profile
    client.post("/alerts/mine/cancel/", {"subscription": str(subscriptions.filter(provision__isnull=False).get().pk)})
    assert AlertSubscription.objects.filter(user=member, status="active").count() == 1
    client.post("/alerts/mine/cancel/", {"all": "1"})
    assert not AlertSubscription.objects.filter(status="active").exists()


def test_a_member_sees_and_cancels_what_their_verified_address_followed_before_signing_in(client, edition):
    member = UserFactory()
    earlier = follow(member.email, edition, "part-1")
    client.force_login(member)
    assert "1 Principles" in client.get(reverse("members:profile")).content.decode()
    client.post("/alerts/mine/cancel/", {"subscription": str(earlier.pk)})
    earlier.refresh_from_db()
    assert earlier.status == "cancelled"


def test_a_member_cannot_cancel_someone_elses_alert(client, edition):
    other = follow("other@lab.example", edition)
    client.force_login(UserFactory())
    client.post("/alerts/mine/cancel/", {"subscription": str(other.pk)})
    other.refresh_from_db()
    assert other.status == "active"


def test_an_unverified_member_confirms_by_email(client, edition):
    member = UserFactory(verified=False)
    client.force_login(member)
    client.post(FOLLOW, follow_data(edition, email=member.email))
    assert AlertSubscription.objects.get().status == "pending"
    assert deliver_outbox() == 1


def test_the_manage_page_lists_the_address_alerts_and_cancels_one_or_all(client, edition):
    first = follow("ana@lab.example", edition, "part-1")
    follow("ana@lab.example", edition)
    someone_else = follow("ben@lab.example", edition)
    manage = alert_link_urls(email="ana@lab.example", guideline_id=edition.guideline_id)["manage_url"]
    page = client.get(manage).content.decode()
    assert "1 Principles" in page
    assert "ben@" not in page
    client.post(manage, {"subscription": [str(first.pk), str(someone_else.pk), "junk"]})
    assert list(AlertSubscription.objects.active().values_list("email", "provision")) == [
        ("ana@lab.example", None),
        ("ben@lab.example", None),
    ]
    client.post(manage, {"all": "1"})
    assert list(AlertSubscription.objects.active().values_list("email", flat=True)) == ["ben@lab.example"]
    assert client.get(manage.replace("/manage/", "/manage/x")).status_code == 400


def test_one_click_unsubscribe_needs_only_a_valid_signature_and_works_once(edition):
    ana = follow("ana@lab.example", edition, "part-1")
    ben = follow("ben@lab.example", edition)
    url = alert_link_urls(email="ana@lab.example", guideline_id=edition.guideline_id)["unsubscribe_url"]
    # A mail client's POST: no cookie, no session, no CSRF token.
    one_click = Client(enforce_csrf_checks=True)

    forged = url.replace("/unsubscribe/", "/unsubscribe/x")
    assert (
        one_click.post(
            forged, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 400
    )
    assert AlertSubscription.objects.active().count() == 2

    assert one_click.get(url).status_code == 200  # a page with a button; a fetch changes nothing
    assert AlertSubscription.objects.active().count() == 2

    response = one_click.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    ana.refresh_from_db()
    assert ana.status == "cancelled"
    assert list(AlertSubscription.objects.active()) == [ben]

    # Following again makes a new subscription, which the old link cannot reach.
    again = follow("ana@lab.example", edition, "part-1")
    assert (
        one_click.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded").status_code
        == 200
    )
    again.refresh_from_db()
    assert again.status == "active"


def test_the_database_keeps_one_live_subscription_per_address_and_target(edition):
    follow("ana@lab.example", edition)
    follow("ana@lab.example", edition, "part-1")
    with pytest.raises(IntegrityError):
        follow("ana@lab.example", edition)
