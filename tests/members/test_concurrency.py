"""The row locks of the order and payment services, proved by racing real transactions (tests/concurrency.py).

Each race stops every thread right after the read its lock keeps stable, so each test fails when that lock
is removed: duplicate order numbers, two pending orders, or overlapping terms."""

import datetime

import pytest
import time_machine

from members.models import Membership, Order, OrderStatus, PaymentProvider, Term
from members.services.payments import order_create, order_mark_paid
from tests.concurrency import errors_of, race
from tests.factories import TermFactory, UserFactory, price_matrix

pytestmark = pytest.mark.django_db(transaction=True)

D = datetime.date
NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)


def reads_the_order_counter(sql: str) -> bool:
    return sql.startswith("SELECT") and 'FROM "members_ordernumbercounter"' in sql


def reads_the_pending_orders(sql: str) -> bool:
    return sql.startswith("SELECT") and 'FROM "members_order"' in sql and '"members_order"."status" =' in sql


def reads_the_terms(sql: str) -> bool:
    return sql.startswith("SELECT") and 'FROM "members_term"' in sql


@pytest.fixture
def full():
    return price_matrix("Full")["Full"]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_concurrent_orders_of_different_members_get_gapless_sequential_numbers(full, frozen):
    # The year's counter exists (an earlier order), as for every order but the year's first.
    order_create(user=UserFactory(country="DE"), membership_type=full, provider=PaymentProvider.INVOICE)
    members = [UserFactory(country="DE") for _ in range(3)]

    outcomes = race(
        *[lambda user=user: order_create(user=user, membership_type=full, provider="invoice") for user in members],
        decides=reads_the_order_counter,
    )

    assert errors_of(outcomes) == []
    assert sorted(Order.objects.values_list("number", flat=True)) == [f"2026-00000{n}" for n in range(1, 5)]
    assert {outcome.result.membership.user_id for outcome in outcomes} == {user.pk for user in members}


@pytest.mark.parametrize("has_membership", [True, False], ids=["renewing-or-retrying", "first-join"])
def test_a_double_click_on_join_leaves_one_pending_order(full, frozen, has_membership):
    member = UserFactory(country="DE")
    if has_membership:
        # A member whose membership row exists (an earlier, cancelled order): only the row lock serialises them.
        Membership.objects.create(user=member)

    outcomes = race(
        lambda: order_create(user=member, membership_type=full, provider="invoice"),
        lambda: order_create(user=member, membership_type=full, provider="invoice"),
        decides=reads_the_pending_orders,
    )

    assert errors_of(outcomes) == []
    assert outcomes[0].result.pk == outcomes[1].result.pk
    assert list(Order.objects.filter(membership__user=member).values_list("status", flat=True)) == [OrderStatus.PENDING]


def test_two_orders_of_one_membership_paid_at_once_chain_consecutive_terms(full, frozen):
    member = UserFactory(country="DE")
    TermFactory(membership=Membership.objects.create(user=member), membership_type=full, end=D(2026, 12, 31))
    # The invoice's bank transfer arrives while the member's card payment for a second order completes.
    by_invoice = order_create(user=member, membership_type=full, provider="invoice")
    by_card = order_create(user=member, membership_type=full, provider="stripe")

    outcomes = race(
        lambda: order_mark_paid(order=by_invoice),
        lambda: order_mark_paid(order=by_card),
        decides=reads_the_terms,
    )

    assert errors_of(outcomes) == []
    paid = Term.objects.filter(order__isnull=False).order_by("start").values_list("start", "end")
    assert list(paid) == [(D(2027, 1, 1), D(2027, 12, 31)), (D(2028, 1, 1), D(2028, 12, 31))]
    assert Membership.objects.get(user=member).current_end == D(2028, 12, 31)
