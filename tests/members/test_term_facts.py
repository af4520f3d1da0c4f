"""The retention facts and counts (members.models.retention) stay equal to what the terms say after every kind
of write, and the Retention figures read from them equal the plain SQL over the terms (retention_reference) on
a generated population, for every filter, on days where months and anniversaries fall due."""

import datetime
import random

import pytest
import time_machine
from django.contrib.auth.signals import user_logged_in
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from members.models import IncomeBand, MembershipSource, Order, OrderStatus, Term, User
from members.selectors import dashboard_figures
from members.selectors.retention import RetentionFilter, default_period, last_due_join, retention_figures
from members.services.memberships import membership_cancel
from members.services.payments import order_create, order_mark_paid
from members.services.refunds import refund_record_in_full
from members.services.retention import term_facts_compact, term_facts_rebuild
from tests.concurrency import errors_of, race
from tests.factories import (
    CountryBandFactory,
    MembershipFactory,
    MembershipTypeFactory,
    OrderFactory,
    StaffFactory,
    TermFactory,
    UserFactory,
    price_matrix,
)
from tests.members.retention_reference import reference_dashboard, reference_figures

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 5, 12, tzinfo=datetime.UTC)
TODAY = NOW.date()

FACT_COLUMNS = """term_id, membership_id, membership_type_id, start, "end", next_start, first, joined, country, source,
    anniversaries, last_written, cancelled, last_login"""
RENEWAL_KEY = """end_month, membership_type_id, country, first, gap"""
COHORT_KEY = """joined_month, membership_type_id, country, source, anniversaries"""


def _fetch(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return sorted(cursor.fetchall(), key=repr)


def assert_facts_match_the_terms():
    """The facts are what the view computes from the terms now, and each ledger sums to the facts' counts."""
    assert _fetch(f"SELECT {FACT_COLUMNS} FROM members_termfact") == _fetch(
        f"SELECT {FACT_COLUMNS} FROM members_termfact_source"
    )
    assert _fetch(
        f"SELECT {RENEWAL_KEY}, SUM(n) FROM members_renewalcount GROUP BY 1, 2, 3, 4, 5 HAVING SUM(n) <> 0"
    ) == _fetch(
        """SELECT date_trunc('month', "end")::date, membership_type_id, country, first,
               CASE WHEN next_start IS NOT NULL THEN LEAST(next_start - "end", 61) END::smallint, COUNT(*)
           FROM members_termfact WHERE "end" IS NOT NULL GROUP BY 1, 2, 3, 4, 5"""
    )
    assert _fetch(
        f"SELECT {COHORT_KEY}, SUM(n) FROM members_cohortcount GROUP BY 1, 2, 3, 4, 5 HAVING SUM(n) <> 0"
    ) == _fetch(
        """SELECT date_trunc('month', joined)::date, membership_type_id, country, source, anniversaries, COUNT(*)
           FROM members_termfact WHERE first GROUP BY 1, 2, 3, 4, 5"""
    )


@time_machine.travel(NOW, tick=False)
def test_facts_follow_joins_renewals_refunds_cancellations_country_changes_and_sign_ins():
    types = price_matrix("Full")
    staff = StaffFactory()
    user = UserFactory(country="DE")
    first = order_create(user=user, membership_type=types["Full"], provider="invoice")
    order_mark_paid(order=first)
    assert_facts_match_the_terms()
    with time_machine.travel(NOW + datetime.timedelta(days=300), tick=False):
        renewal = order_create(user=user, membership_type=types["Full"], provider="invoice")
        order_mark_paid(order=renewal)
    facts = _fetch("SELECT first, next_start IS NOT NULL FROM members_termfact")
    assert facts == [(False, False), (True, True)]  # the first term is now followed by the renewal
    assert_facts_match_the_terms()
    refund_record_in_full(order=renewal, reason="Paid twice", by=staff)  # voids the renewal's term
    assert _fetch("SELECT first, next_start FROM members_termfact") == [(True, None)]
    assert_facts_match_the_terms()
    user.country = "BR"
    user.save(update_fields=["country"])
    assert _fetch("SELECT country FROM members_termfact") == [("BR",)]
    user_logged_in.send(sender=type(user), request=RequestFactory().get("/"), user=user)  # sets last_login
    assert _fetch("SELECT last_login IS NOT NULL FROM members_termfact") == [(True,)]
    membership_cancel(membership=first.membership, reason="Moved away", by=staff)
    assert _fetch("SELECT cancelled FROM members_termfact") == [(True,)]
    assert_facts_match_the_terms()


def test_a_raw_update_and_delete_of_terms_keep_the_facts():
    membership = MembershipFactory()
    early = TermFactory(membership=membership, start=datetime.date(2023, 1, 1), end=datetime.date(2023, 12, 31))
    TermFactory(membership=membership, start=datetime.date(2024, 1, 1), end=datetime.date(2024, 12, 31))
    Term.objects.filter(pk=early.pk).update(start=datetime.date(2022, 6, 1))
    assert _fetch("SELECT joined FROM members_termfact") == [(datetime.date(2022, 6, 1),)] * 2
    Term.objects.filter(pk=early.pk).delete()
    assert _fetch("SELECT first, joined FROM members_termfact") == [(True, datetime.date(2024, 1, 1))]
    assert_facts_match_the_terms()


def test_compaction_leaves_one_row_per_key_and_the_same_sums():
    membership = MembershipFactory()
    for year in range(2019, 2025):
        TermFactory(membership=membership, start=datetime.date(year, 1, 1), end=datetime.date(year, 12, 31))
    rows_before = _fetch("SELECT COUNT(*) FROM members_renewalcount")[0][0]
    term_facts_compact()
    assert _fetch("SELECT COUNT(*) FROM members_renewalcount")[0][0] < rows_before
    assert _fetch(
        "SELECT COUNT(*) FROM (SELECT 1 FROM members_renewalcount GROUP BY end_month, membership_type_id, country, "
        "first, gap HAVING COUNT(*) > 1) d"
    ) == [(0,)]
    assert_facts_match_the_terms()


def test_rebuild_restores_facts_after_a_load_with_triggers_off():
    membership = MembershipFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        TermFactory(membership=membership, start=datetime.date(2024, 1, 1), end=datetime.date(2024, 12, 31))
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    assert _fetch("SELECT COUNT(*) FROM members_termfact") == [(0,)]
    term_facts_rebuild()
    assert _fetch("SELECT COUNT(*) FROM members_termfact") == [(1,)]
    assert_facts_match_the_terms()


@pytest.mark.parametrize(
    ("today", "years", "last_due"),
    [
        (datetime.date(2026, 12, 5), 1, datetime.date(2025, 12, 5)),
        (datetime.date(2027, 2, 28), 3, datetime.date(2024, 2, 29)),  # 29 Feb 2024 + 3 years is 28 Feb 2027
        (datetime.date(2028, 2, 28), 1, datetime.date(2027, 2, 28)),
        (datetime.date(2028, 2, 29), 4, datetime.date(2024, 2, 29)),
    ],
)
def test_last_due_join_adds_years_as_postgres_does(today, years, last_due):
    assert last_due_join(today, years) == last_due
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (%s::date + make_interval(years => %s))::date <= %s, (%s::date + make_interval(years => %s))::date <= %s",
            [last_due, years, today, last_due + datetime.timedelta(days=1), years, today],
        )
        assert cursor.fetchone() == (True, False)


def generated_population(today: datetime.date, seed: int):
    """Members with every shape of history: renewals in time, late, after the grace period, voided terms,
    lifetime terms, multi-year terms, joins on and around each anniversary boundary, three sources, four
    countries (one without a band), sign-ins, pending orders and cancellations."""
    rng = random.Random(seed)
    CountryBandFactory(country="DE", band=IncomeBand.HIGH)
    CountryBandFactory(country="KE", band=IncomeBand.LOWER_MIDDLE)
    CountryBandFactory(country="BR", band=IncomeBand.UPPER_MIDDLE)
    types = [MembershipTypeFactory(name="Full", slug="full"), MembershipTypeFactory(name="Student", slug="student")]
    joins = [rng.randrange(-8 * 365, 60) for _ in range(70)]
    # Joined on, just before and just after the day each anniversary falls due today.
    for years in (1, 2, 3, 5):
        due = last_due_join(today, years)
        joins += [(due - today).days + shift for shift in (-1, 0, 1)]
    for join in joins:
        user = UserFactory(
            country=rng.choice(["DE", "KE", "BR", "ZA"]),
            last_login=NOW - datetime.timedelta(days=rng.randrange(0, 900)) if rng.random() < 0.5 else None,
        )
        cancelled = rng.random() < 0.05
        membership = MembershipFactory(
            user=user,
            source=rng.choice(list(MembershipSource.values)),
            cancelled_at=NOW if cancelled else None,
            cancel_reason="moved" if cancelled else "",
        )
        start = today + datetime.timedelta(days=join)
        while start <= today + datetime.timedelta(days=120):
            years = rng.choice([1, 1, 1, 2])
            end = None if rng.random() < 0.02 else start + datetime.timedelta(days=365 * years - 1)
            voided = rng.random() < 0.06
            TermFactory(
                membership=membership,
                membership_type=rng.choice(types),
                start=start,
                end=end,
                voided_at=NOW if voided else None,
                void_reason="refunded" if voided else "",
                created_at=NOW - datetime.timedelta(days=rng.randrange(0, 900)),
            )
            if end is None or rng.random() < 0.3:
                break  # lifetime, or lapsed for good
            # In time (the day after), late within grace, or back after the grace period.
            start = end + datetime.timedelta(days=rng.choice([1, 1, 1, 10, 29, 31, 45, 200]))
        if rng.random() < 0.1:
            OrderFactory(membership=membership, status=OrderStatus.PENDING)
        if rng.random() < 0.5:  # dues, in two currencies, paid around the dashboard's year; some refunded later
            order = OrderFactory(
                membership=membership,
                membership_type=rng.choice(types),
                status=OrderStatus.PAID,
                paid_at=NOW - datetime.timedelta(hours=rng.randrange(0, 24 * 400)),
                band=rng.choice(list(IncomeBand.values)),
                currency=rng.choice(["USD", "USD", "EUR"]),
                amount=rng.choice([20, 50, 200]),
            )
            if rng.random() < 0.2:
                Order.objects.filter(pk=order.pk).update(
                    status=OrderStatus.REFUNDED, refunded_at=NOW, refund_reason="Paid twice"
                )


FILTERS = [
    {},
    {"membership_type": "student"},
    {"band": "high"},
    {"band": "lower_middle"},
    {"country": "KE"},
    {"country": "ZA"},  # a country without a band
    {"join_year": 2024},
    {"join_year": 2025, "band": "upper_middle", "membership_type": "full"},
    {"window_days": 30},
]


@pytest.mark.parametrize(
    "today",
    [
        datetime.date(2026, 12, 5),
        datetime.date(2027, 1, 31),  # a month's last day: the grace floor's month is the one before
        datetime.date(2028, 2, 29),  # a leap day
    ],
)
def test_figures_equal_the_plain_sql_over_the_terms_for_every_filter(today):
    now = datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.UTC)
    with time_machine.travel(now, tick=False):
        generated_population(today, seed=today.toordinal())
        chosen = []
        for index, filters in enumerate(FILTERS):
            start, end = default_period(today)
            if index % 3 == 1:  # a ten-year period that starts mid-year, before the cohort years
                start = (end - datetime.timedelta(days=365 * 10 - 40)).replace(day=1)
            chosen.append(RetentionFilter(start=start, end=end, **filters))
        expected = [reference_figures(choice, today=today) for choice in chosen]
        assert [retention_figures(choice, today=today) for choice in chosen] == expected  # from the raw ledger
        term_facts_compact()
        assert [retention_figures(choice, today=today) for choice in chosen] == expected


@pytest.mark.parametrize(
    ("today", "time_zone"),
    [
        (datetime.date(2026, 12, 5), "UTC"),
        (datetime.date(2027, 1, 31), "UTC"),
        (datetime.date(2028, 2, 29), "UTC"),
        (datetime.date(2026, 3, 1), "Asia/Kolkata"),  # the dues' year starts at 18:30 UTC, within a counted day
    ],
)
def test_dashboard_equals_the_plain_orm_over_memberships_terms_and_orders(today, time_zone, settings):
    settings.TIME_ZONE = time_zone
    now = datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.UTC)
    with time_machine.travel(now, tick=False):
        generated_population(today, seed=today.toordinal() + 1)
        # Paid just after and just before the dues' year starts (midnight a year ago, in the society's time zone).
        year_start = timezone.make_aware(
            datetime.datetime.combine(today - datetime.timedelta(days=365), datetime.time())
        )
        for paid_at in (year_start + datetime.timedelta(minutes=1), year_start - datetime.timedelta(minutes=1)):
            OrderFactory(status=OrderStatus.PAID, paid_at=paid_at, band=IncomeBand.LOW, amount=7)
        assert dashboard_figures(today) == reference_dashboard(today)
        term_facts_compact()
        assert dashboard_figures(today) == reference_dashboard(today)


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_during_the_members_payment_neither_deadlocks_nor_leaves_stale_facts():
    full = price_matrix("Full")["Full"]
    with time_machine.travel(NOW, tick=False):
        member = UserFactory(country="DE")
        membership = MembershipFactory(user=member)
        TermFactory(membership=membership, membership_type=full, end=datetime.date(2026, 12, 31))
        renewal = order_create(user=member, membership_type=full, provider="invoice")
        signed_in_at = NOW + datetime.timedelta(minutes=5)

        # The payment holds the membership and has read its terms when the member signs in (which rewrites
        # the facts): the sign-in must not wait for the membership, or the payment's write of the account
        # (membership_touches_user) and the sign-in would each wait for the other.
        outcomes = race(
            lambda: order_mark_paid(order=renewal),
            lambda: User.objects.filter(pk=member.pk).update(last_login=signed_in_at),
            decides=lambda sql: (
                ('FROM "members_term"' in sql and sql.startswith("SELECT")) or sql.startswith('UPDATE "members_user"')
            ),
        )

    assert errors_of(outcomes) == []
    assert _fetch("SELECT last_login FROM members_termfact") == [(signed_in_at,)] * 2
    assert_facts_match_the_terms()
