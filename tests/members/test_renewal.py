"""Orders, payments and the renewal rules, with frozen time."""

import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import close_old_connections, transaction
from django.utils import formats

from members.models import Membership, MembershipStatus, Order, OrderStatus, PaymentProvider, Price, Term
from members.services.memberships import (
    MSG_NOT_PURCHASABLE,
    MSG_REASON_REQUIRED,
    MSG_WINDOW_NOT_OPEN,
    membership_cancel,
    term_end,
)
from members.services.payments import order_create, order_mark_paid, term_comp
from society.models import OutgoingEmail
from tests.factories import MembershipTypeFactory, TermFactory, UserFactory, price_matrix
from tests.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

D = datetime.date
DAY = datetime.timedelta(days=1)


def at(year, month, day, hour=12, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=datetime.UTC)


@pytest.fixture
def full(db):
    return price_matrix("Full")["Full"]


def membership_ending(user, end):
    return TermFactory(membership=Membership.objects.get_or_create(user=user)[0], end=end).membership


def pay(user, membership_type, when):
    with time_machine.travel(when, tick=False):
        order = order_create(user=user, membership_type=membership_type, provider=PaymentProvider.INVOICE)
        return order_mark_paid(order=order)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (D(2026, 1, 1), 12, D(2026, 12, 31)),
        (D(2026, 3, 15), 12, D(2027, 3, 14)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),  # leap day start: ends on the last day of February
        (D(2027, 3, 1), 12, D(2028, 2, 29)),  # a term that runs over a leap day ends on it
        (D(2026, 1, 31), 1, D(2026, 2, 28)),  # month-end start: no 31 February, no lost or doubled day
        (D(2026, 8, 31), 6, D(2027, 2, 28)),
        (D(2026, 12, 31), 12, D(2027, 12, 30)),
    ],
)
def test_term_end_is_the_day_before_the_anniversary(start, months, end):
    assert term_end(start=start, months=months) == end


def test_terms_chained_from_month_ends_leave_no_gap():
    start = D(2026, 1, 31)
    for _ in range(14):
        end = term_end(start=start, months=1)
        assert end >= start
        start = end + DAY
    assert start == D(2027, 4, 1)


def test_new_member_term_starts_on_the_payment_date(member, full):
    term = pay(member, full, at(2026, 11, 25))
    assert (term.start, term.end) == (D(2026, 11, 25), D(2027, 11, 24))
    assert term.order.status == OrderStatus.PAID


def test_early_renewal_extends_from_old_expiry(member, full):
    membership_ending(member, D(2027, 1, 31))
    term = pay(member, full, at(2026, 11, 25))  # 67 days before the end: window open
    assert (term.start, term.end) == (D(2027, 2, 1), D(2028, 1, 31))


def test_renewal_on_the_last_day_of_a_term_continues_without_gap(member, full):
    membership_ending(member, D(2026, 11, 25))
    term = pay(member, full, at(2026, 11, 25, 23, 59))
    assert term.start == D(2026, 11, 26)


def test_renewal_in_grace_starts_the_day_after_the_old_end(member, full):
    membership_ending(member, D(2026, 10, 31))  # 25 days ago: grace
    term = pay(member, full, at(2026, 11, 25))
    assert (term.start, term.end) == (D(2026, 11, 1), D(2027, 10, 31))


def test_renewal_after_lapse_starts_on_the_payment_date(member, full):
    membership_ending(member, D(2026, 9, 30))  # 56 days ago: lapsed
    term = pay(member, full, at(2026, 11, 25))
    assert term.start == D(2026, 11, 25)


def test_leap_day_payment_gives_a_term_to_the_end_of_february(member, full):
    term = pay(member, full, at(2028, 2, 29))
    assert (term.start, term.end) == (D(2028, 2, 29), D(2029, 2, 28))


def test_payment_date_is_the_society_local_date_not_utc(member, full, settings):
    # 23:30 UTC on 25 November is already 26 November in Tokyo, the society's time zone here.
    settings.TIME_ZONE = "Asia/Tokyo"
    term = pay(member, full, at(2026, 11, 25, 23, 30))
    assert term.start == D(2026, 11, 26)


def test_member_west_of_utc_renewing_on_their_last_day_keeps_continuity(member, full, settings):
    # 02:00 UTC on 1 December is still 30 November in Los Angeles: the last day of the term, not grace.
    settings.TIME_ZONE = "America/Los_Angeles"
    membership = membership_ending(member, D(2026, 11, 30))
    with time_machine.travel(at(2026, 12, 1, 2, 0), tick=False):
        assert Membership.objects.with_status().get(pk=membership.pk).status == MembershipStatus.EXPIRING
    term = pay(member, full, at(2026, 12, 1, 2, 0))
    assert term.start == D(2026, 12, 1)


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_renewal_before_the_window_is_refused_naming_the_date_it_opens(member, full):
    membership_ending(member, D(2027, 6, 30))
    with pytest.raises(ValidationError) as refused:
        order_create(user=member, membership_type=full, provider=PaymentProvider.INVOICE)
    assert refused.value.code == "window_not_open"
    expected = MSG_WINDOW_NOT_OPEN % {
        "end": formats.date_format(D(2027, 6, 30), "DATE_FORMAT"),
        "opens": formats.date_format(D(2027, 4, 1), "DATE_FORMAT"),
        "days": 90,
    }
    assert refused.value.messages == [expected]
    assert formats.date_format(D(2027, 4, 1), "DATE_FORMAT") in expected
    assert not Order.objects.exists()


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_price_follows_the_band_of_the_member_country(full):
    amounts = {}
    for country in ["DE", "BR", "IN", "UG"]:
        order = order_create(user=UserFactory(country=country), membership_type=full, provider="invoice")
        amounts[country] = (order.band, order.amount, order.currency)
    assert amounts == {
        "DE": ("high", Decimal("200.00"), "USD"),
        "BR": ("upper_middle", Decimal("100.00"), "USD"),
        "IN": ("lower_middle", Decimal("50.00"), "USD"),
        "UG": ("low", Decimal("20.00"), "USD"),
    }


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_price_band_and_country_are_frozen_on_the_order(full):
    user = UserFactory(country="BR")
    order = order_create(user=user, membership_type=full, provider="invoice")
    Price.objects.filter(membership_type=full).update(amount=Decimal("999.00"))
    user.country = "DE"
    user.save()
    order_mark_paid(order=order)
    order.refresh_from_db()
    assert (order.amount, order.band, order.country.code) == (Decimal("100.00"), "upper_middle", "BR")


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_member_switches_type_at_renewal_and_pays_the_new_price():
    member = UserFactory(country="DE")
    types = price_matrix("Trainee", "Full")
    types["Trainee"].prices.update(amount=Decimal("80.00"))
    membership = Membership.objects.create(user=member)
    TermFactory(membership=membership, membership_type=types["Trainee"], end=D(2026, 12, 31))
    order = order_create(user=member, membership_type=types["Full"], provider="invoice")
    term = order_mark_paid(order=order)
    assert (order.amount, term.membership_type.name, term.start) == (Decimal("200.00"), "Full", D(2027, 1, 1))


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_types_members_cannot_buy_are_refused(member, full):
    honorary = MembershipTypeFactory(name="Honorary", is_purchasable=False)
    with pytest.raises(ValidationError) as refused:
        order_create(user=member, membership_type=honorary, provider="invoice")
    assert refused.value.messages == [MSG_NOT_PURCHASABLE % {"type": "Honorary"}]


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_order_numbers_are_sequential_per_year(full):
    numbers = [order_create(user=UserFactory(), membership_type=full, provider="invoice").number for _ in range(3)]
    assert numbers == ["2026-000001", "2026-000002", "2026-000003"]
    with time_machine.travel(at(2027, 1, 1), tick=False):
        assert order_create(user=UserFactory(), membership_type=full, provider="invoice").number == "2027-000001"


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_double_click_reuses_the_pending_order_and_a_new_choice_voids_it(member, full):
    first = order_create(user=member, membership_type=full, provider="invoice")
    assert order_create(user=member, membership_type=full, provider="invoice") == first
    card = order_create(user=member, membership_type=full, provider="stripe")
    first.refresh_from_db()
    assert (first.status, card.status) == (OrderStatus.CANCELLED, OrderStatus.PENDING)


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_an_invoice_order_is_emailed_once_by_the_service_in_the_callers_transaction(
    member, full, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        order = order_create(user=member, membership_type=full, provider=PaymentProvider.INVOICE)
        again = order_create(user=member, membership_type=full, provider=PaymentProvider.INVOICE)  # double click
    assert again == order
    assert list(OutgoingEmail.objects.values_list("kind", "related_key")) == [("invoice", f"invoice:{order.number}")]
    assert len(callbacks) == 1  # one send task, queued after commit


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_an_order_rolled_back_leaves_no_invoice_email(member, full):
    def request_failing_after_the_order():
        with transaction.atomic():
            order_create(user=member, membership_type=full, provider=PaymentProvider.INVOICE)
            raise RuntimeError("the request failed after the order")

    with pytest.raises(RuntimeError):
        request_failing_after_the_order()
    assert not Order.objects.exists()
    assert not OutgoingEmail.objects.exists()


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_marking_paid_twice_creates_one_term_and_the_end_moves_once(
    member, full, mailoutbox, django_capture_on_commit_callbacks
):
    order = order_create(user=member, membership_type=full, provider="invoice")
    with django_capture_on_commit_callbacks(execute=True):
        first = order_mark_paid(order=order)
        second = order_mark_paid(order=order)
    assert first == second
    assert Term.objects.count() == 1
    # order_create wrote the invoice; the two payments wrote one receipt between them.
    assert list(OutgoingEmail.objects.order_by("pk").values_list("kind", flat=True)) == ["invoice", "receipt"]
    deliver_outbox()
    assert len(mailoutbox) == 2
    receipt = mailoutbox[1]
    assert receipt.subject.startswith("Receipt 2026-000001")
    assert formats.date_format(D(2027, 11, 24), "DATE_FORMAT") in receipt.body


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_payments_of_one_order_create_one_term():
    full = price_matrix("Full")["Full"]
    member = UserFactory(country="DE")
    membership_ending(member, D(2026, 12, 31))
    with time_machine.travel(at(2026, 11, 25), tick=False):
        order = order_create(user=member, membership_type=full, provider="invoice")
    barrier = threading.Barrier(20)
    terms, errors = [], []

    def worker():
        try:
            barrier.wait()
            terms.append(order_mark_paid(order=order, paid_at=at(2026, 11, 25)).pk)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(terms) == 20
    assert len(set(terms)) == 1
    assert list(Term.objects.filter(order__isnull=False).values_list("start", "end")) == [
        (D(2027, 1, 1), D(2027, 12, 31))
    ]


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_staff_comp_grants_a_term_with_amount_zero_and_the_reason(member, staff, full):
    membership = Membership.objects.create(user=member)
    with pytest.raises(ValidationError) as refused:
        term_comp(membership=membership, membership_type=full, reason=" ", by=staff)
    assert refused.value.messages == [str(MSG_REASON_REQUIRED)]
    term = term_comp(membership=membership, membership_type=full, reason="Hardship", by=staff)
    assert (term.order.amount, term.order.provider, term.order.note) == (Decimal("0"), "comp", "Hardship")
    assert term.order.history.first().history_user == staff


@time_machine.travel(at(2026, 11, 25), tick=False)
def test_cancel_records_reason_and_voids_pending_orders_with_an_audit_row(member, staff, full):
    membership = membership_ending(member, D(2026, 12, 31))
    order = order_create(user=member, membership_type=full, provider="invoice")
    membership_cancel(membership=membership, reason="Requested by the member", by=staff)
    membership.refresh_from_db()
    order.refresh_from_db()
    assert Membership.objects.with_status().get(pk=membership.pk).status == MembershipStatus.CANCELLED
    assert order.status == OrderStatus.CANCELLED
    latest = membership.history.first()
    assert (latest.cancel_reason, latest.history_user) == ("Requested by the member", staff)


def test_current_end_follows_the_terms_whatever_writes_them(member):
    membership = Membership.objects.create(user=member)
    stale = Membership.objects.get(pk=membership.pk)  # loaded before any term exists
    first = TermFactory(membership=membership, end=D(2026, 6, 30))
    later = TermFactory(membership=membership, end=D(2027, 6, 30))
    assert Membership.objects.get(pk=membership.pk).current_end == D(2027, 6, 30)
    stale.cancel_reason = "A stale instance saved with current_end=None"
    stale.cancelled_at = at(2026, 11, 1)
    stale.save()
    assert Membership.objects.get(pk=membership.pk).current_end == D(2027, 6, 30)
    later.delete()
    assert Membership.objects.get(pk=membership.pk).current_end == first.end
    Term.objects.filter(pk=first.pk).update(end=D(2026, 7, 31))
    assert Membership.objects.get(pk=membership.pk).current_end == D(2026, 7, 31)
