"""Refunds: the order becomes refunded, its term is voided (kept, never deleted) and stops counting anywhere."""

import datetime
import json
import time
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from members.models import (
    Membership,
    MembershipStatus,
    Order,
    OrderStatus,
    PaymentProvider,
    ReminderRule,
    StripeEvent,
    Term,
)
from members.models.memberships import membership_status
from members.reminder_defaults import DEFAULT_RULES
from members.services.accounts import user_export_data
from members.services.memberships import MSG_REASON_REQUIRED, last_end_of
from members.services.payments import (
    MSG_ALREADY_REFUNDED,
    MSG_NOT_PAID,
    order_create,
    order_mark_paid,
    order_refund,
)
from members.services.reminders import reminders_due
from tests.factories import StaffFactory, TermFactory, UserFactory, price_matrix
from tests.members.test_stripe import WEBHOOK_SECRET, completed_event, deliver

pytestmark = pytest.mark.django_db

D = datetime.date


def at(year, month, day):
    return datetime.datetime(year, month, day, 12, tzinfo=datetime.UTC)


@pytest.fixture
def full(db):
    return price_matrix("Full")["Full"]


def pay(user, membership_type, when):
    with time_machine.travel(when, tick=False):
        order = order_create(user=user, membership_type=membership_type, provider=PaymentProvider.INVOICE)
        order_mark_paid(order=order)
    order.refresh_from_db()
    return order


def status_of(membership, today):
    return Membership.objects.with_status(today).get(pk=membership.pk).status


def renewing_member(full):
    """A member whose first term ends 31 March 2026 and who renewed on 1 March: the new term starts 1 April."""
    user = UserFactory(country="DE")
    TermFactory(membership=Membership.objects.create(user=user), end=D(2026, 3, 31), membership_type=full)
    return user, pay(user, full, at(2026, 3, 1))


def test_refund_voids_the_term_and_the_member_is_pending_again(full):
    user = UserFactory(country="DE")
    order = pay(user, full, at(2026, 1, 10))
    membership = order.membership
    assert status_of(membership, D(2026, 3, 1)) == MembershipStatus.ACTIVE
    staff = StaffFactory()

    with time_machine.travel(at(2026, 3, 1), tick=False):
        refunded = order_refund(order=order, reason="Paid twice by mistake", by=staff)

    assert (refunded.status, refunded.refund_reason, refunded.refunded_by) == (
        OrderStatus.REFUNDED,
        "Paid twice by mistake",
        staff,
    )
    term = Term.objects.get(order=order)  # voided, never deleted
    assert term.voided_at == at(2026, 3, 1)
    assert term.void_reason == "Paid twice by mistake"
    membership.refresh_from_db()
    assert membership.current_end is None
    assert status_of(membership, D(2026, 3, 1)) == MembershipStatus.PENDING
    assert membership_status(today=D(2026, 3, 1), last_end=last_end_of(membership)) == MembershipStatus.PENDING
    # The audit trail: the order's history has the refund, by whom, with the reason.
    latest = order.history.first()
    assert (latest.status, latest.history_user, latest.history_change_reason) == (
        OrderStatus.REFUNDED,
        staff,
        "Paid twice by mistake",
    )


def test_refunding_a_renewal_returns_to_the_previous_term(full):
    user, order = renewing_member(full)
    membership = order.membership
    assert (order.term.start, order.term.end) == (D(2026, 4, 1), D(2027, 3, 31))
    assert status_of(membership, D(2026, 3, 10)) == MembershipStatus.ACTIVE

    order_refund(order=order, reason="Chargeback", by=None)

    membership.refresh_from_db()
    assert membership.current_end == D(2026, 3, 31)
    assert status_of(membership, D(2026, 3, 10)) == MembershipStatus.EXPIRING
    assert status_of(membership, D(2026, 6, 1)) == MembershipStatus.LAPSED


def test_renewing_after_a_refund_starts_after_the_last_term_that_counts(full):
    user, order = renewing_member(full)
    order_refund(order=order, reason="Chargeback", by=None)
    renewal = pay(user, full, at(2026, 3, 15))
    # Not 1 April 2027 (after the voided term): the day after the term that still counts.
    assert (renewal.term.start, renewal.term.end) == (D(2026, 4, 1), D(2027, 3, 31))
    renewal.membership.refresh_from_db()
    assert renewal.membership.current_end == D(2027, 3, 31)


def test_renewing_after_a_refund_once_lapsed_starts_on_the_payment_day(full):
    user, order = renewing_member(full)
    order_refund(order=order, reason="Chargeback", by=None)
    renewal = pay(user, full, at(2026, 9, 1))
    assert renewal.term.start == D(2026, 9, 1)


def test_refunding_twice_is_refused_and_changes_nothing(full):
    order = pay(UserFactory(country="DE"), full, at(2026, 1, 10))
    with time_machine.travel(at(2026, 2, 1), tick=False):
        order_refund(order=order, reason="First", by=None)
    history_rows = order.history.count()

    with pytest.raises(ValidationError) as error, time_machine.travel(at(2026, 2, 2), tick=False):
        order_refund(order=order, reason="Second", by=StaffFactory())

    assert error.value.messages == [MSG_ALREADY_REFUNDED % {"number": order.number}]
    order.refresh_from_db()
    term = Term.objects.get(order=order)
    assert (order.refund_reason, order.refunded_at, order.refunded_by) == ("First", at(2026, 2, 1), None)
    assert (term.void_reason, term.voided_at) == ("First", at(2026, 2, 1))
    assert order.history.count() == history_rows


def test_a_pending_order_cannot_be_refunded(full):
    order = order_create(user=UserFactory(country="DE"), membership_type=full, provider=PaymentProvider.INVOICE)
    with pytest.raises(ValidationError) as error:
        order_refund(order=order, reason="Oops", by=None)
    assert error.value.messages == [MSG_NOT_PAID % {"number": order.number, "status": "Pending"}]
    order.refresh_from_db()
    assert (order.status, order.refunded_at) == (OrderStatus.PENDING, None)


def test_a_refund_needs_a_reason(full):
    order = pay(UserFactory(country="DE"), full, at(2026, 1, 10))
    with pytest.raises(ValidationError) as error:
        order_refund(order=order, reason="  ", by=None)
    assert error.value.messages == [str(MSG_REASON_REQUIRED)]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_a_refunded_order_cannot_be_paid_again(full):
    order = pay(UserFactory(country="DE"), full, at(2026, 1, 10))
    order_refund(order=order, reason="Chargeback", by=None)
    with pytest.raises(ValidationError):
        order_mark_paid(order=order)
    assert Term.objects.filter(order=order).count() == 1


def test_the_database_refuses_a_voided_term_without_a_reason(full):
    term = TermFactory(end=D(2026, 5, 1))
    term.voided_at = at(2026, 1, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        term.save()


def test_a_voided_term_gets_no_reminder_and_the_term_that_counts_does(full):
    rules = [ReminderRule.objects.get_or_create(offset_days=r["offset_days"], defaults=r)[0] for r in DEFAULT_RULES]
    user, order = renewing_member(full)
    first_term = Term.objects.get(membership=order.membership, order__isnull=True)
    today = D(2026, 3, 24)  # 7 days before the first term ends
    assert list(reminders_due(today=today, rules=rules)) == []  # renewed: nothing due
    order_refund(order=order, reason="Chargeback", by=None)
    assert [term.pk for term in reminders_due(today=today, rules=rules)] == [first_term.pk]
    # A voided term whose own end comes due is never reminded either.
    assert [term.pk for term in reminders_due(today=D(2027, 3, 24), rules=rules)] == []


def test_user_export_data_shows_the_refund(full):
    order = pay(UserFactory(country="DE"), full, at(2026, 1, 10))
    order_refund(order=order, reason="Chargeback", by=None)
    data = user_export_data(user=order.membership.user)
    assert data["membership"]["terms"][0]["void_reason"] == "Chargeback"
    assert data["orders"][0]["status"] == "refunded"


# --- Stripe ------------------------------------------------------------------------------


@pytest.fixture
def stripe_settings(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


def paid_by_card(full):
    order = order_create(user=UserFactory(country="BR"), membership_type=full, provider="stripe")
    payload = json.loads(completed_event(order))
    payload["data"]["object"]["payment_intent"] = "pi_test_123"
    return order, json.dumps(payload)


def refunded_event(*, event_id="evt_refund_1", payment_intent="pi_test_123", refunded=True):
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "charge.refunded",
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2025-01-27.acacia",
            "data": {
                "object": {
                    "id": "ch_test_1",
                    "object": "charge",
                    "amount": 10000,  # the order's 100.00 USD (Brazil, Full)
                    "amount_refunded": 10000 if refunded else 1000,
                    "currency": "usd",
                    "payment_intent": payment_intent,
                    "refunded": refunded,
                    "status": "succeeded",
                }
            },
        }
    )


def test_checkout_completion_remembers_the_payment_intent(client, full, stripe_settings):
    order, payload = paid_by_card(full)
    assert deliver(client, payload).content == b"paid"
    order.refresh_from_db()
    assert (order.provider_reference, order.payment_intent) == ("cs_test_paid", "pi_test_123")


def test_a_stripe_refund_delivered_three_times_refunds_once(client, full, stripe_settings):
    order, payload = paid_by_card(full)
    deliver(client, payload)
    refund = refunded_event()
    responses = [deliver(client, refund) for _ in range(3)]
    assert [(r.status_code, r.content) for r in responses] == [
        (200, b"refunded"),
        (200, b"duplicate"),
        (200, b"duplicate"),
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.refund_reason == "Refunded in Stripe (charge ch_test_1)"
    assert Term.objects.get(order=order).voided_at is not None
    assert order.history.filter(status=OrderStatus.REFUNDED).count() == 1
    # Another event about the same refund (Stripe also sends charge.refund.updated etc.) changes nothing.
    refunded_at = order.refunded_at
    assert deliver(client, refunded_event(event_id="evt_refund_2")).content == b"already refunded"
    order.refresh_from_db()
    assert order.refunded_at == refunded_at
    assert StripeEvent.objects.filter(type="charge.refunded").count() == 2


def test_a_partial_stripe_refund_is_recorded_with_a_credit_note_and_leaves_the_membership_alone(
    client, full, stripe_settings
):
    order, payload = paid_by_card(full)
    deliver(client, payload)
    assert deliver(client, refunded_event(refunded=False)).content == b"partially refunded"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Term.objects.get(order=order).voided_at is None
    assert list(order.refunds.values_list("amount", "reference")) == [(Decimal("10.00"), "ch_test_1")]


def test_a_refund_for_an_unknown_payment_is_rejected(client, full, stripe_settings):
    response = deliver(client, refunded_event(payment_intent="pi_unknown"))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


# --- Admin --------------------------------------------------------------------------------


def test_admin_refund_action_asks_for_a_reason_then_refunds(client, full):
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    paid = pay(UserFactory(country="DE"), full, at(2026, 1, 10))
    pending = order_create(user=UserFactory(country="IN"), membership_type=full, provider=PaymentProvider.INVOICE)
    url = "/admin/members/order/"
    data = {"action": "refund", "_selected_action": [paid.pk, pending.pk]}

    form = client.post(url, data)
    assert form.status_code == 200
    assert "Reason" in form.content.decode()
    assert paid.number in form.content.decode()
    client.post(url, {**data, "apply": "1", "reason": ""})
    assert not Order.objects.filter(status=OrderStatus.REFUNDED).exists()

    response = client.post(url, {**data, "apply": "1", "reason": "Member left the field"}, follow=True)
    page = response.content.decode()
    assert "1 order refunded." in page
    assert f"Order {pending.number} is not paid" in page
    paid.refresh_from_db()
    pending.refresh_from_db()
    assert (paid.status, paid.refund_reason, paid.refunded_by) == (
        OrderStatus.REFUNDED,
        "Member left the field",
        staff,
    )
    assert pending.status == OrderStatus.PENDING
    assert Term.objects.get(order=paid).void_reason == "Member left the field"
    # The refund has its credit note, like one made on the order's page.
    assert list(paid.refunds.values_list("amount", "method")) == [(paid.amount, "other")]
    # The membership page in admin lists the voided term with its reason.
    change = client.get(f"/admin/members/membership/{paid.membership_id}/change/").content.decode()
    assert "Member left the field" in change

    again = client.post(url, {**data, "apply": "1", "reason": "Again"}, follow=True).content.decode()
    assert f"Order {paid.number} was already refunded; nothing was changed." in again
    paid.refresh_from_db()
    assert paid.refund_reason == "Member left the field"


# --- Member page --------------------------------------------------------------------------


def test_membership_page_shows_the_refund_and_not_the_voided_term(client, full):
    user, order = renewing_member(full)
    order_refund(order=order, reason="Chargeback", by=None)
    client.force_login(user)
    with time_machine.travel(at(2026, 3, 10), tick=False):
        page = client.get("/membership/").content.decode()
    assert "Refunded" in page
    assert "voided by the refund" in page
    # The current term is the one that still counts (ends 31 March 2026), not the voided one (2027).
    summary = page[page.index("membership-summary") : page.index("Orders and receipts")]
    assert "March 31, 2026" in summary
    assert "2027" not in summary
