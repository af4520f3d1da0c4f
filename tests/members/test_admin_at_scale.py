"""The staff lists that hold every member (memberships, orders, users, the outbox) at 500,000 members: filters
on indexed columns that answer exactly what the status CASE answered, search through trigram indexes that
still finds partial emails and names, estimated counts instead of a COUNT(*) per page view, and a number of
queries that does not grow with the data, for every filter and search."""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Membership, MembershipStatus, MembershipType, Order, Payment, Term, User
from members.selectors import member_countries
from society.admin import base as admin_base
from society.models import OutgoingEmail
from tests.factories import CountryBandFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 11, 25)
CHANGELIST = "/admin/members/membership/"


def days(offset):
    return TODAY + datetime.timedelta(days=offset)


def member(name="Ada Lovelace", email=None, *, country="DE", ends=200, type_slug="full", starts=None):
    user = UserFactory(full_name=name, country=country, **({"email": email} if email else {}))
    membership = Membership.objects.create(user=user)
    if ends is not False:
        membership_type, _ = MembershipType.objects.get_or_create(slug=type_slug, defaults={"name": type_slug})
        end = None if ends is None else days(ends)
        start = starts if starts is not None else (end or TODAY) - datetime.timedelta(days=364)
        Term.objects.create(membership=membership, membership_type=membership_type, start=start, end=end)
    return membership


def every_status():
    """A membership on each side of every boundary between statuses (window 90 days, grace 30)."""
    memberships = [member(ends=offset) for offset in (200, 91, 90, 1, 0, -1, -30, -31, -400)]
    memberships.append(member(ends=False))  # pending
    memberships.append(member(ends=None))  # lifetime
    lifetime_after_terms = member(ends=-500)
    Term.objects.create(
        membership=lifetime_after_terms, membership_type=MembershipType.objects.get(slug="full"), start=days(-100)
    )
    memberships.append(lifetime_after_terms)
    cancelled = member(ends=100)
    Membership.objects.filter(pk=cancelled.pk).update(cancelled_at=NOW, cancel_reason="Asked to leave")
    return memberships


def listed(page) -> set[str]:
    return set(re.findall(r'<span class="member-email">([^<]+)</span>', page.content.decode()))


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("status", MembershipStatus.values)
def test_status_filter_on_columns_matches_the_status_case_at_every_boundary(superuser_client, status):
    every_status()
    by_case = set(Membership.objects.with_status(TODAY).filter(status=status).values_list("user__email", flat=True))
    by_columns = set(Membership.objects.in_status(status, TODAY).values_list("user__email", flat=True))
    assert by_columns == by_case
    assert by_case, f"the population has no {status} membership"
    assert listed(superuser_client.get(CHANGELIST, {"status": status})) == by_case


@time_machine.travel(NOW, tick=False)
def test_an_unknown_status_lists_nothing_as_before(superuser_client):
    every_status()
    page = superuser_client.get(CHANGELIST, {"status": "junk"})
    assert page.status_code == 200
    assert listed(page) == set()


@time_machine.travel(NOW, tick=False)
def test_type_filter_follows_the_latest_counting_term(superuser_client):
    upgraded = member("Upgraded", "upgraded@example.org", ends=-200, type_slug="student")
    Term.objects.create(
        membership=upgraded, membership_type=MembershipType.objects.get_or_create(slug="full")[0], start=days(-199)
    )  # a lifetime term, after the student years
    renewed = member("Renewed", "renewed@example.org", ends=-100, type_slug="full")
    Term.objects.create(
        membership=renewed,
        membership_type=MembershipType.objects.get(slug="student"),
        start=days(-99),
        end=days(265),
    )
    voided = Term.objects.create(
        membership=renewed,
        membership_type=MembershipType.objects.get(slug="full"),
        start=days(266),
        end=days(600),
    )
    Term.objects.filter(pk=voided.pk).update(voided_at=NOW, void_reason="Refunded")  # refunded: does not count
    member("Pending", "pending@example.org", ends=False)
    assert listed(superuser_client.get(CHANGELIST, {"type": "full"})) == {"upgraded@example.org"}
    assert listed(superuser_client.get(CHANGELIST, {"type": "student"})) == {"renewed@example.org"}
    assert listed(superuser_client.get(CHANGELIST, {"type": "no-such-type"})) == set()


@time_machine.travel(NOW, tick=False)
def test_join_year_filter_is_the_year_of_the_first_counting_term(superuser_client):
    full = MembershipType.objects.get_or_create(slug="full", defaults={"name": "Full"})[0]
    member("Joined 2025", "j2025@example.org", ends=None, starts=datetime.date(2025, 3, 1))
    renewed = member("Joined 2024", "j2024@example.org", starts=datetime.date(2024, 12, 31), ends=-330)
    Term.objects.create(membership=renewed, membership_type=full, start=days(-329), end=days(35))
    refunded_first = member("Refunded", "refunded@example.org", starts=datetime.date(2023, 5, 1), ends=-900)
    Term.objects.filter(membership=refunded_first).update(voided_at=NOW, void_reason="Refunded")
    Term.objects.create(membership=refunded_first, membership_type=full, start=datetime.date(2025, 1, 1), end=days(20))
    member("Pending", "pending@example.org", ends=False)
    assert listed(superuser_client.get(CHANGELIST, {"joined": "2025"})) == {
        "j2025@example.org",
        "refunded@example.org",
    }
    assert listed(superuser_client.get(CHANGELIST, {"joined": "2024"})) == {"j2024@example.org"}
    assert listed(superuser_client.get(CHANGELIST, {"joined": "2023"})) == set()


def test_a_whole_email_address_finds_that_account_through_its_unique_index(superuser_client):
    member("Ann", "ann@lab.example")
    member("Joann", "joann@lab.example")
    assert listed(superuser_client.get(CHANGELIST, {"q": "ANN@lab.example"})) == {"ann@lab.example"}
    assert listed(superuser_client.get(CHANGELIST, {"q": "ann@lab"})) == {"ann@lab.example", "joann@lab.example"}
    query, params = User.objects.matching_word("ann@lab.example", ("email", "full_name")).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "user_email_ci_unique" in plan, plan


def test_a_search_mixing_a_name_and_an_order_number_needs_both(superuser_client):
    muller = member("Jürgen Müller", "jm@example.org")
    OrderFactory(number="2026-004217", membership=muller)
    other = member("Anna Müller", "am@example.org")
    OrderFactory(number="2026-009999", membership=other)
    assert listed(superuser_client.get(CHANGELIST, {"q": "Müller 004217"})) == {"jm@example.org"}
    orders = superuser_client.get("/admin/members/order/", {"q": "Müller 004217"}).content.decode()
    assert "2026-004217" in orders
    assert "2026-009999" not in orders


@pytest.mark.parametrize(
    ("url", "field", "filters"),
    [
        ("/admin/members/order/", "created_at", {}),
        ("/admin/members/order/", "created_at", {"status__exact": "paid"}),
        ("/admin/members/order/", "created_at", {"created_at__year": "2025"}),
        ("/admin/members/order/", "created_at", {"created_at__year": "2025", "created_at__month": "12"}),
        ("/admin/members/payment/", "received_on", {}),
        ("/admin/members/payment/", "received_on", {"received_on__year": "2026"}),
    ],
)
def test_the_date_drill_down_offers_the_periods_djangos_own_would(superuser_client, url, field, filters):
    """The probed years, months and days are exactly those of Django's SELECT DISTINCT date_trunc(…)."""
    from django.contrib.admin.templatetags.admin_list import date_hierarchy

    membership = member("Amara Okonkwo", "amara@lagos.example")
    moments = [datetime.datetime(2023, 6, 1, 23, 30, tzinfo=datetime.UTC)]
    moments += [datetime.datetime(2025, 12, day, 12, tzinfo=datetime.UTC) for day in (1, 31)]
    moments += [datetime.datetime(2026, 2, 28, 0, 5, tzinfo=datetime.UTC)]
    for index, moment in enumerate(moments):
        order = OrderFactory(membership=membership, status="paid" if index % 2 else "pending", paid_at=moment)
        Order.objects.filter(pk=order.pk).update(created_at=moment)
        Payment.objects.create(order=order, amount=1, currency="USD", received_on=moment.date(), method="cash")
    with CaptureQueriesContext(connection) as queries:
        page = superuser_client.get(url, filters)
    assert not [query for query in queries if "DISTINCT DATE_TRUNC" in query["sql"].upper()]
    probed = page.context["cl"]
    ours = [choice["title"] for choice in page.context["choices"]] if "choices" in page.context else None
    django_own = [choice["title"] for choice in date_hierarchy(probed)["choices"]]
    assert ours == django_own
    assert django_own


@time_machine.travel(NOW, tick=False)
def test_band_and_country_filters_and_the_country_choices(superuser_client):
    CountryBandFactory(country="DE", band="high")
    CountryBandFactory(country="UG", band="low")
    member("Germany", "de@example.org", country="DE")
    member("Uganda", "ug@example.org", country="UG")
    UserFactory(country="FR")  # an account without a membership: not a member country
    assert member_countries() == ["DE", "UG"]
    assert listed(superuser_client.get(CHANGELIST, {"band": "low"})) == {"ug@example.org"}
    assert listed(superuser_client.get(CHANGELIST, {"country": "DE"})) == {"de@example.org"}
    page = superuser_client.get(CHANGELIST).content.decode()
    assert "?country=UG" in page
    assert "?country=FR" not in page


@pytest.mark.parametrize("few", [3000, 1], ids=["ids of a rare country", "join for a common country"])
def test_the_country_filter_lists_the_same_members_either_way(superuser_client, monkeypatch, few):
    from members.admin import memberships as membership_admin

    monkeypatch.setattr(membership_admin, "FEW_MEMBERS", few)
    member("Germany", "de@example.org", country="DE")
    member("Berlin", "berlin@example.org", country="DE")
    member("Uganda", "ug@example.org", country="UG")
    UserFactory(country="DE")  # no membership
    assert listed(superuser_client.get(CHANGELIST, {"country": "DE"})) == {"de@example.org", "berlin@example.org"}
    assert listed(superuser_client.get(CHANGELIST, {"country": "IS"})) == set()


@time_machine.travel(NOW, tick=False)
def test_search_still_finds_partial_emails_names_orcids_and_order_numbers(superuser_client):
    muller = member("Jürgen Müller", "j.mueller@uni-heidelberg.example")
    member("Siobhán O'Brien-Løvås", "siobhan@tcd.example")
    User.objects.filter(pk=muller.user_id).update(orcid="0000-0002-1825-0097")
    OrderFactory(number="2026-004217", membership=muller)
    for query, expected in [
        ("mueller@uni", {"j.mueller@uni-heidelberg.example"}),  # partial email
        ("HEIDELBERG", {"j.mueller@uni-heidelberg.example"}),  # any case
        ("Müller", {"j.mueller@uni-heidelberg.example"}),  # partial name
        ("muller", {"j.mueller@uni-heidelberg.example"}),  # without the accent
        ("o'brien-løvås", {"siobhan@tcd.example"}),
        ("1825-0097", {"j.mueller@uni-heidelberg.example"}),  # ORCID iD
        ("004217", {"j.mueller@uni-heidelberg.example"}),  # order number
        ("jürgen tcd", set()),  # every word must match
        ('"Jürgen Müller"', {"j.mueller@uni-heidelberg.example"}),  # a quoted phrase
        ("nobody", set()),
    ]:
        assert listed(superuser_client.get(CHANGELIST, {"q": query})) == expected, query


def test_staff_searches_of_orders_users_and_outbox_find_partial_values(superuser_client):
    membership = member("Amara Okonkwo", "amara@lagos.example")
    OrderFactory(number="2026-000777", membership=membership)
    OutgoingEmail.objects.create(to="amara@lagos.example", subject="Your renewal", text_body="Hi", kind="test")
    for url, query, expected in [
        ("/admin/members/order/", "okonk", "2026-000777"),
        ("/admin/members/order/", "000777", "2026-000777"),
        ("/admin/members/order/", "lagos.ex", "2026-000777"),
        ("/admin/members/user/", "okonkwo", "amara@lagos.example"),
        ("/admin/members/user/", "AMARA@LAG", "amara@lagos.example"),
        ("/admin/society/outgoingemail/", "renewal", "amara@lagos.example"),
        ("/admin/society/outgoingemail/", "lagos", "Your renewal"),
    ]:
        assert expected in superuser_client.get(url, {"q": query}).content.decode(), (url, query)
        assert expected not in superuser_client.get(url, {"q": "zzzz"}).content.decode(), url


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        (User.objects.matching_word("mueller@uni", ("email",)), "user_email_trgm"),
        (User.objects.matching_word("müller", ("full_name",)), "user_full_name_trgm"),
        (User.objects.matching_word("1825-0097", ("orcid",)), "user_orcid_trgm"),
        (Order.objects.filter(number__icontains="004217"), "order_number_trgm"),
        (OutgoingEmail.objects.filter(to__icontains="lagos"), "outgoing_email_to_trgm"),
        (OutgoingEmail.objects.filter(subject__icontains="renewal"), "outgoing_email_subject_trgm"),
        # The members directory: only listed members' names are read.
        (User.objects.filter(directory_visible=True).matching("müller"), "user_listed_name_trgm"),
        (User.objects.filter(directory_visible=True).matching("müller"), "user_listed_institution_trgm"),
    ],
)
def test_each_search_expression_is_the_one_its_trigram_index_is_built_on(sql, index):
    """With sequential scans off, Postgres uses the index if and only if the query's expression is the indexed
    one: a search written differently (lower() for upper(), a missing cast) would scan 500,000 rows."""
    query, params = sql.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


def test_the_country_choices_jump_through_the_index():
    member(country="DE")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        with CaptureQueriesContext(connection) as queries:
            member_countries()
        cursor.execute("EXPLAIN " + queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "user_country" in plan, plan


# --- Counts: estimated above a size, never a COUNT(*) over the table then --------------------------------


def analyzed(*tables):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(tables))


@time_machine.travel(NOW, tick=False)
def test_a_large_changelist_shows_about_n_without_counting(superuser_client, monkeypatch):
    for index in range(30):
        member(f"Member {index}", f"m{index}@example.org", ends=index - 10)
    analyzed("members_membership", "members_user")
    monkeypatch.setattr(admin_base, "EXACT_COUNT_BELOW", 10)
    for params, expected in [({}, "about 30 memberships"), ({"ends_within": "30"}, "about ")]:
        with CaptureQueriesContext(connection) as queries:
            page = superuser_client.get(CHANGELIST, params)
        assert expected in page.content.decode()
        # Counts are bounded (COUNT over LIMIT EXACT_COUNT_BELOW + 1); the reltuples CASE only counts below it.
        assert not [q for q in queries if q["sql"].startswith("SELECT COUNT(") and "LIMIT 11" not in q["sql"]]


@time_machine.travel(NOW, tick=False)
def test_a_small_result_is_counted_exactly(superuser_client):
    for index in range(3):
        member(f"Member {index}", f"m{index}@example.org")
    analyzed("members_membership", "members_user")
    page = superuser_client.get(CHANGELIST).content.decode()
    assert "3 memberships" in page
    assert "about" not in page
    assert "1 membership" in superuser_client.get(CHANGELIST, {"q": "m1@"}).content.decode()


# --- Queries constant in data size, for every filter and search -------------------------------------------

PAGES = [
    CHANGELIST,
    *[f"{CHANGELIST}?status={status}" for status in MembershipStatus.values],
    f"{CHANGELIST}?type=full",
    f"{CHANGELIST}?band=high",
    f"{CHANGELIST}?country=DE",
    f"{CHANGELIST}?ends_within=90",
    f"{CHANGELIST}?at_risk=90",
    f"{CHANGELIST}?joined=2025",
    f"{CHANGELIST}?q=example.org",
    f"{CHANGELIST}?q=Member",
    f"{CHANGELIST}?q=m1%40example.org",
    f"{CHANGELIST}?q=Member+2099",
    "/admin/members/order/",
    "/admin/members/order/?status__exact=pending",
    "/admin/members/order/?q=example",
    "/admin/members/order/?q=Member+2099",
    "/admin/members/order/?created_at__year=2026",
    "/admin/members/order/?created_at__year=2026&created_at__month=11",
    "/admin/members/payment/",
    "/admin/members/payment/?received_on__year=2026",
    "/admin/members/payment/?method__exact=cash",
    "/admin/members/payment/?q=Member",
    "/admin/members/user/",
    "/admin/members/user/?country=DE",
    "/admin/members/user/?q=example",
    "/admin/society/outgoingemail/",
    "/admin/society/outgoingemail/?q=example",
]


# One membership in each status in turn: active, expiring, grace, lapsed, pending, cancelled.
ENDS = [200, 50, -10, -100, False, 100]


def grow(count):
    CountryBandFactory(country="DE", band="high")
    for _ in range(count):
        index = Membership.objects.count()
        membership = member(f"Member {index}", f"m{index}@example.org", ends=ENDS[index % len(ENDS)])
        if index % len(ENDS) == len(ENDS) - 1:
            Membership.objects.filter(pk=membership.pk).update(cancelled_at=NOW, cancel_reason="Left")
        order = OrderFactory(membership=membership)
        # Payments over several days, so the date drill-down has periods to probe.
        received = TODAY - datetime.timedelta(days=index % 40)
        Payment.objects.create(order=order, amount=1, currency="USD", received_on=received, method="cash")
        OutgoingEmail.objects.create(to=f"m{index}@example.org", subject="Hello", text_body="Hi", kind="test")
    analyzed("members_membership", "members_user", "members_order", "members_payment", "society_outgoingemail")


def query_count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("estimated", [False, True], ids=["exact counts", "estimated counts"])
def test_every_list_filter_and_search_runs_as_many_queries_at_60_rows_as_at_6(superuser_client, monkeypatch, estimated):
    if estimated:
        monkeypatch.setattr(admin_base, "EXACT_COUNT_BELOW", 0)
    grow(6)
    for url in PAGES:
        superuser_client.get(url)  # per-process caches (content types, the site)
    few = {url: query_count(superuser_client, url) for url in PAGES}
    grow(54)
    many = {url: query_count(superuser_client, url) for url in PAGES}
    assert many == few


@time_machine.travel(NOW, tick=False)
def test_membership_and_order_changelists_with_a_filter_and_a_search_stay_within_their_queries(
    superuser_client, django_assert_max_num_queries
):
    """At 60 memberships with an order and a payment each, so that a query per row would show: session, user,
    the filters' choices, a bounded count, the page, and for a search one probe of the order numbers; for
    orders and payments the date drill-down's two queries."""
    grow(60)
    for url, most in [
        (f"{CHANGELIST}?type=full&q=Member", 8),
        (f"{CHANGELIST}?country=DE&q=m1%40example.org", 8),
        ("/admin/members/order/?status__exact=paid&q=Member", 9),
        ("/admin/members/order/?created_at__year=2026&q=Member+2099", 10),
        ("/admin/members/payment/?method__exact=cash&q=Member", 9),
    ]:
        superuser_client.get(url)  # per-process caches (content types, the site)
        with django_assert_max_num_queries(most):
            assert superuser_client.get(url).status_code == 200
