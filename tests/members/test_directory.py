import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Membership, MembershipStatus, Term, User
from members.models.directory import LIFETIME_END
from members.services.memberships import membership_cancel
from tests.factories import MembershipFactory, MembershipTypeFactory, TermFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)
DIRECTORY = reverse("members:directory")


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


def current_member(**user_fields):
    """A member with a term running well past TODAY."""
    user = UserFactory(**user_fields)
    TermFactory(membership=MembershipFactory(user=user), end=TODAY + datetime.timedelta(days=200))
    return user


def lapsed_member(**user_fields):
    user = UserFactory(**user_fields)
    TermFactory(membership=MembershipFactory(user=user), end=TODAY - datetime.timedelta(days=90))
    return user


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(DIRECTORY)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("make_user", [lapsed_member, UserFactory], ids=["lapsed", "no-membership"])
def test_members_without_access_get_an_explanation_in_the_layout(client, make_user):
    current_member(full_name="Hidden Person", directory_visible=True)
    client.force_login(make_user())
    response = client.get(DIRECTORY)
    assert response.status_code == 403
    body = response.content.decode()
    assert "The member directory is for current members" in body
    assert 'class="site-header"' in body
    assert "Hidden Person" not in body


def test_grace_period_member_still_sees_the_directory(client):
    user = UserFactory()
    TermFactory(membership=MembershipFactory(user=user), end=TODAY - datetime.timedelta(days=5))
    client.force_login(user)
    assert client.get(DIRECTORY).status_code == 200


def test_lists_only_opted_in_members_with_access_and_never_emails(client):
    viewer = current_member()
    listed = current_member(full_name="Listed Person", email="listed@lab.example", directory_visible=True)
    current_member(full_name="Private Person", directory_visible=False)
    lapsed_member(full_name="Lapsed Person", directory_visible=True)
    UserFactory(full_name="Nonmember Person", directory_visible=True)
    client.force_login(viewer)
    response = client.get(DIRECTORY)
    assert list(response.context["people"]) == [listed]
    body = response.content.decode()
    assert "Listed Person" in body
    assert "listed@lab.example" not in body
    for hidden in ["Private Person", "Lapsed Person", "Nonmember Person"]:
        assert hidden not in body


def test_search_ignores_accents_and_case(client):
    viewer = current_member()
    nguyen = current_member(full_name="Nguyễn Thị Minh Khai", directory_visible=True)
    current_member(full_name="Jürgen Müller", institution="Universität Wien", directory_visible=True)
    current_member(full_name="Σωκράτης Παπαδόπουλος", directory_visible=True)
    client.force_login(viewer)
    assert list(client.get(DIRECTORY, {"q": "nguyen"}).context["people"]) == [nguyen]
    assert list(client.get(DIRECTORY, {"q": "NGUYỄN thi"}).context["people"]) == [nguyen]
    assert [p.full_name for p in client.get(DIRECTORY, {"q": "universitat"}).context["people"]] == ["Jürgen Müller"]
    assert [p.full_name for p in client.get(DIRECTORY, {"q": "σωκρατης"}).context["people"]] == [
        "Σωκράτης Παπαδόπουλος"
    ]
    # LIKE wildcards typed by a member are searched for literally.
    assert list(client.get(DIRECTORY, {"q": "%"}).context["people"]) == []


def test_filter_by_country(client):
    viewer = current_member()
    kenyan = current_member(country="KE", directory_visible=True)
    current_member(country="JP", directory_visible=True)
    client.force_login(viewer)
    assert list(client.get(DIRECTORY, {"country": "KE"}).context["people"]) == [kenyan]
    # An unknown code is ignored rather than erroring.
    assert len(client.get(DIRECTORY, {"country": "ZZ"}).context["people"]) == 2


def test_the_country_filter_keeps_the_chosen_country_and_escapes_junk(client):
    client.force_login(current_member())
    body = client.get(DIRECTORY, {"country": "KE"}).text
    assert '<select name="country" id="directory-country">' in body
    assert '<option value="KE" selected>Kenya</option>' in body
    assert body.count(" selected>") == 1
    body = client.get(DIRECTORY, {"country": '"><script>alert(1)</script>'}).text
    assert "<script>alert(1)" not in body
    assert '<option value="" selected>All countries</option>' not in body
    assert body.count(" selected>") == 0


def test_orcid_is_linked_and_names_are_escaped(client):
    viewer = current_member()
    person = current_member(directory_visible=True, orcid="0000-0002-1825-0097")
    User.objects.filter(pk=person.pk).update(full_name="<b>Imported</b>")
    client.force_login(viewer)
    body = client.get(DIRECTORY).content.decode()
    assert 'href="https://orcid.org/0000-0002-1825-0097"' in body
    assert "&lt;b&gt;Imported&lt;/b&gt;" in body


def add_directory_members(start, count):
    users = User.objects.bulk_create(
        UserFactory.build(email=f"bulk{index}@lab.example", full_name=f"Bulk Person {index}", directory_visible=True)
        for index in range(start, start + count)
    )
    membership_type = MembershipTypeFactory()
    memberships = Membership.objects.bulk_create(Membership(user=user) for user in users)
    Term.objects.bulk_create(
        Term(
            membership=membership,
            membership_type=membership_type,
            start=TODAY,
            end=TODAY + datetime.timedelta(days=200),
        )
        for membership in memberships
    )


def count_directory_queries(client, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DIRECTORY, params)
    assert response.status_code == 200
    return len(queries), len(response.context["people"])


@pytest.mark.parametrize("params", [{}, {"q": "bulk"}, {"country": "DE", "page": "1"}])
def test_directory_runs_the_same_number_of_queries_for_10_and_1000_members(client, params):
    client.force_login(current_member())
    add_directory_members(0, 10)
    count_directory_queries(client, params)  # the footer's pages and content version, kept after a first page
    small, _shown = count_directory_queries(client, params)
    add_directory_members(10, 990)
    large, shown = count_directory_queries(client, params)
    assert small == large
    assert small <= 8
    assert shown > 0


def test_directory_sorts_names_by_the_unicode_collation(client):
    client.force_login(current_member())
    for name in ["Zoë Dubois", "Åsa Lindqvist", "Ana Silva", "Σωκράτης Παπαδόπουλος", "Émile Roux"]:
        current_member(full_name=name, directory_visible=True)
    names = [person.full_name for person in client.get(DIRECTORY).context["people"]]
    assert names == ["Ana Silva", "Åsa Lindqvist", "Émile Roux", "Zoë Dubois", "Σωκράτης Παπαδόπουλος"]


def test_directory_search_sorts_its_matches_by_the_unicode_collation(client):
    client.force_login(current_member())
    for name in ["Zoë Müller", "Åsa Muller", "Ana Müller", "Émile Müller-Roux", "Ana Silva"]:
        current_member(full_name=name, directory_visible=True)
    names = [person.full_name for person in client.get(DIRECTORY, {"q": "muller"}).context["people"]]
    assert names == ["Ana Müller", "Åsa Muller", "Émile Müller-Roux", "Zoë Müller"]


def test_the_directory_reads_the_users_table_alone(client):
    """The listing and its count never join the memberships: at 500,000 members that join hashed every current
    membership to keep the few thousand a search matched."""
    client.force_login(current_member())
    current_member(full_name="Ana Müller", directory_visible=True, country="FR")  # not in the DE asked for
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DIRECTORY, {"q": "muller", "country": "DE"})
    assert [person.full_name for person in response.context["people"]] == []
    listing = [q["sql"] for q in queries.captured_queries if "full_name" in q["sql"] or "COUNT(" in q["sql"]]
    assert listing
    assert not [sql for sql in listing if "members_membership" in sql]


def test_membership_end_on_the_user_follows_the_membership_whatever_writes_it():
    user = UserFactory()
    stale = User.objects.get(pk=user.pk)

    def membership_end():
        return User.objects.values_list("membership_end", flat=True).get(pk=user.pk)

    membership = MembershipFactory(user=user)
    assert membership_end() is None  # pending: no term yet
    term = TermFactory(membership=membership, end=TODAY + datetime.timedelta(days=200))
    assert membership_end() == TODAY + datetime.timedelta(days=200)
    stale.full_name = "Saved From A Stale Instance"
    stale.save()
    assert membership_end() == TODAY + datetime.timedelta(days=200)
    Term.objects.filter(pk=term.pk).update(
        voided_at=datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC), void_reason="Refund"
    )
    assert membership_end() is None
    TermFactory(membership=membership, start=TODAY, end=None)
    assert membership_end() == LIFETIME_END
    membership_cancel(membership=Membership.objects.get(pk=membership.pk), reason="Moved on", by=None)
    assert membership_end() is None


def test_in_directory_lists_exactly_the_listed_members_whose_membership_gives_access():
    ends = {
        "active": TODAY + datetime.timedelta(days=200),
        "expiring": TODAY + datetime.timedelta(days=10),
        "last-day": TODAY,
        "grace": TODAY - datetime.timedelta(days=5),
        "grace-last-day": TODAY - datetime.timedelta(days=30),
        "lapsed": TODAY - datetime.timedelta(days=31),
        "lifetime": None,
    }
    for label, end in ends.items():
        for listed in [True, False]:
            user = UserFactory(full_name=f"{label} {listed}", directory_visible=listed)
            start = (end or TODAY) - datetime.timedelta(days=364)
            TermFactory(membership=MembershipFactory(user=user), start=start, end=end)
    cancelled = current_member(full_name="cancelled", directory_visible=True)
    membership_cancel(membership=cancelled.membership, reason="Moved on", by=None)
    MembershipFactory(user=UserFactory(full_name="pending", directory_visible=True))
    UserFactory(full_name="no membership", directory_visible=True)
    current_member(full_name="inactive", directory_visible=True, is_active=False)
    with_access = Membership.objects.with_access().values("user_id")
    expected = User.objects.filter(directory_visible=True, is_active=True, erased_at__isnull=True, pk__in=with_access)
    assert {u.full_name for u in User.objects.in_directory()} == {u.full_name for u in expected}
    assert {u.full_name for u in expected} == {
        "active True",
        "expiring True",
        "last-day True",
        "grace True",
        "grace-last-day True",
        "lifetime True",
    }
    statuses = Membership.objects.with_status().filter(user__in=User.objects.in_directory())
    assert {m.status for m in statuses} == {MembershipStatus.ACTIVE, MembershipStatus.EXPIRING, MembershipStatus.GRACE}


def test_a_search_is_counted_by_the_statement_that_reads_its_page(client):
    client.force_login(current_member())
    add_directory_members(0, 30)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DIRECTORY, {"q": "bulk person", "page": "2"})
    assert len(response.context["people"]) == 5
    assert response.context["paginator"].count == 30
    assert "30 members" in response.text
    assert "Page 2 of 2" in response.text
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(*) AS" in q["sql"]]
    assert client.get(DIRECTORY, {"q": "bulk person", "page": "3"}).status_code == 404
    # A page number past what Postgres' OFFSET holds is "no such page", not a 500.
    assert client.get(DIRECTORY, {"q": "bulk person", "page": "99999999999999999999"}).status_code == 404
    assert client.get(DIRECTORY, {"q": "bulk person", "page": "last"}).context["page_obj"].number == 2
    nobody = client.get(DIRECTORY, {"q": "nobody by this name"})
    assert nobody.status_code == 200
    assert "Nobody matches this search." in nobody.text
