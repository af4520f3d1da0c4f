"""The locks and constraints of orders, payments and reminders, proved by racing real transactions.

Each race (tests/concurrency.py) stops every thread right after the read its lock keeps stable, so each
test fails when that lock is removed: duplicate order numbers, two pending orders, overlapping terms, or a
reminder queued twice."""

import datetime
import io

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, transaction

from members.models import Membership, Order, OrderStatus, PaymentProvider, ReminderDelivery, ReminderRule, Term
from members.reminder_defaults import DEFAULT_RULES
from members.services.payments import order_create, order_mark_paid
from members.services.reminders import renewal_reminders_send
from society.models import OutgoingEmail
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


@pytest.fixture
def reminder_rules():
    # Created here: transactional tests flush the rows the data migration wrote.
    return [ReminderRule.objects.get_or_create(offset_days=r["offset_days"], defaults=r)[0] for r in DEFAULT_RULES]


def reads_the_due_reminders(sql: str) -> bool:
    return sql.startswith("SELECT") and 'FROM "members_term"' in sql and "members_reminderdelivery" in sql


def test_two_reminder_runs_at_once_queue_each_reminder_once(reminder_rules, frozen):
    term = TermFactory(end=D(2026, 12, 25))  # 30 days after NOW: the 30-day reminder is due

    outcomes = race(renewal_reminders_send, renewal_reminders_send, decides=reads_the_due_reminders)

    assert errors_of(outcomes) == []
    assert sorted(outcome.result.total for outcome in outcomes) == [0, 1]
    assert list(ReminderDelivery.objects.values_list("term", "rule__offset_days")) == [(term.pk, -30)]
    assert OutgoingEmail.objects.filter(kind="reminder").count() == 1


def test_the_database_refuses_a_second_delivery_of_one_rule_for_one_term(reminder_rules, frozen):
    TermFactory(end=D(2026, 12, 25))
    renewal_reminders_send()
    delivered = ReminderDelivery.objects.select_related("email").get()
    # Whatever path writes it (a code change that loses the "not yet delivered" filter, a script), a
    # second delivery with an email of its own must not exist: that would be a second reminder.
    duplicate_email = OutgoingEmail.objects.create(
        to=delivered.email.to, subject="Again", text_body="Again", kind="reminder", idempotency_key="another"
    )
    with pytest.raises(IntegrityError, match="reminderdelivery_once_per_term_rule"), transaction.atomic():
        ReminderDelivery.objects.create(
            membership=delivered.membership, term=delivered.term, rule=delivered.rule, email=duplicate_email
        )


# --- Terms of one membership never overlap, whatever writes them -----------------------------------------


def counting_term(membership, start, end):
    return Term.objects.create(
        membership=membership, membership_type=membership.terms.first().membership_type, start=start, end=end
    )


@pytest.mark.django_db
def test_the_database_refuses_a_term_overlapping_another_by_one_day():
    first = TermFactory(start=D(2026, 1, 1), end=D(2026, 12, 31))
    with pytest.raises(IntegrityError, match="term_counting_terms_never_overlap"), transaction.atomic():
        counting_term(first.membership, D(2026, 12, 31), D(2027, 12, 30))  # the end day is part of the term
    with pytest.raises(IntegrityError, match="term_counting_terms_never_overlap"), transaction.atomic():
        counting_term(first.membership, D(2025, 6, 1), D(2027, 6, 1))  # around it
    follower = counting_term(first.membership, D(2027, 1, 1), D(2027, 12, 31))
    with pytest.raises(IntegrityError, match="term_counting_terms_never_overlap"), transaction.atomic():
        Term.objects.filter(pk=follower.pk).update(start=D(2026, 12, 1))
    assert list(first.membership.terms.values_list("start", "end")) == [
        (D(2026, 1, 1), D(2026, 12, 31)),
        (D(2027, 1, 1), D(2027, 12, 31)),
    ]


@pytest.mark.django_db
def test_a_voided_term_may_lie_under_its_replacement_and_other_members_are_independent():
    refunded = TermFactory(start=D(2026, 1, 1), end=D(2026, 12, 31))
    Term.objects.filter(pk=refunded.pk).update(voided_at=NOW, void_reason="Refunded")
    replacement = counting_term(refunded.membership, D(2026, 3, 1), D(2027, 2, 28))
    TermFactory(membership_type=replacement.membership_type, start=D(2026, 3, 1), end=D(2027, 2, 28))
    # Un-voiding the refunded term would make two counting terms overlap.
    with pytest.raises(IntegrityError, match="term_counting_terms_never_overlap"), transaction.atomic():
        Term.objects.filter(pk=refunded.pk).update(voided_at=None, void_reason="")
    assert Term.objects.counting().count() == 2


@pytest.mark.django_db
def test_an_imported_term_continues_a_shorter_existing_term_instead_of_overlapping_it(tmp_path):
    full = price_matrix("Full")["Full"]
    member = UserFactory(email="ana@example.org", country="BR")
    TermFactory(membership=Membership.objects.create(user=member), membership_type=full, end=D(2026, 6, 30))
    path = tmp_path / "members.csv"
    path.write_text(
        "email,full name,country,institution,type,term end date,ORCID\n"
        "ana@example.org,Ana Souza,BR,USP,Full,2026-12-31,\n",
        encoding="utf-8",
    )
    call_command("import_members", str(path), stdout=io.StringIO())
    assert list(member.membership.terms.values_list("start", "end")) == [
        (D(2025, 7, 1), D(2026, 6, 30)),
        (D(2026, 7, 1), D(2026, 12, 31)),
    ]
