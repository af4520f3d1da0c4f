"""Refunds that move money (Stripe's Refund API from the admin, bank refunds recorded), credit notes, and
reconciling card orders whose webhook was lost. Stripe is the local stub server; webhooks are signed."""

import datetime
import json
import time
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.utils import timezone

from members.models import Order, OrderStatus, PaymentMethod, PaymentProvider, Refund, Term
from members.services import stripe as stripe_payments
from members.services.ledger import payment_record
from members.services.payments import order_create, order_mark_paid
from members.services.refunds import refund_from_charge, refund_record
from members.tasks import reconcile_stale_card_orders
from society.models import OutgoingEmail
from tests.factories import StaffFactory, UserFactory, price_matrix
from tests.members.test_stripe import completed_event, deliver
from tests.workers import current_celery_app, make_test_app, new_queue_name

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


@pytest.fixture
def full(db):
    return price_matrix("Full")["Full"]


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def card_order(full, fake_stripe, *, country="BR"):
    """A card order whose member went to Stripe Checkout (the session exists in the stub)."""
    order = order_create(user=UserFactory(country=country), membership_type=full, provider=PaymentProvider.STRIPE)
    request = RequestFactory().get("/", HTTP_HOST="testserver")
    stripe_payments.checkout_session_url(order=order, request=request)
    order.refresh_from_db()
    return order


def paid_card_order(client, full, fake_stripe):
    """A card order paid on Stripe and confirmed by its signed webhook, as in production."""
    order = card_order(full, fake_stripe)
    intent = fake_stripe.pay_session(order.provider_reference)
    payload = json.loads(completed_event(order, event_id=f"evt_{order.number}"))
    payload["data"]["object"].update(id=order.provider_reference, payment_intent=intent["id"])
    assert deliver(client, json.dumps(payload)).content == b"paid"
    order.refresh_from_db()
    return order, intent


def charge_refunded(order, intent, *, amount_refunded, event_id="evt_charge_refunded"):
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
                    "id": intent["latest_charge"],
                    "object": "charge",
                    "amount": intent["amount"],
                    "amount_captured": intent["amount"],
                    "amount_refunded": amount_refunded,
                    "captured": True,
                    "currency": intent["currency"],
                    "paid": True,
                    "payment_intent": intent["id"],
                    "refunded": amount_refunded == intent["amount"],
                    "status": "succeeded",
                }
            },
        }
    )


def refund_url(order):
    return f"/admin/members/order/{order.pk}/refund/"


def credit_notes_sent():
    return list(OutgoingEmail.objects.filter(kind="credit_note").values_list("to", flat=True))


def test_a_partial_then_full_card_refund_goes_through_stripe_with_one_credit_note_each(
    client, admin_client, full, fake_stripe
):
    order, intent = paid_card_order(client, full, fake_stripe)
    page = admin_client.get(refund_url(order))
    assert page.status_code == 200
    assert "100.00 USD can still be refunded" in page.content.decode()
    key = page.context["form"].initial["request_key"]

    data = {"amount": "30.00", "reason": "Student rate granted late", "request_key": key}
    response = admin_client.post(refund_url(order), data)
    assert response.status_code == 302
    request = fake_stripe.requests[-1]
    assert request["path"] == "/v1/refunds"
    assert request["headers"]["Idempotency-Key"] == f"refund-{order.number}-{key}"
    assert (request["form"]["payment_intent"], request["form"]["amount"]) == (intent["id"], "3000")
    refund = Refund.objects.get()
    assert (refund.number, refund.amount, refund.method) == ("CN-2026-000001", Decimal("30.00"), "card_online")
    assert refund.stripe_refund.startswith("re_test_")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID  # a partial refund keeps the term
    assert Term.objects.get(order=order).voided_at is None

    # The same form submitted twice (double click, back button): Stripe answers the same refund; no second row.
    admin_client.post(refund_url(order), data)
    assert len(fake_stripe.refunds) == 1
    assert Refund.objects.count() == 1
    assert credit_notes_sent() == [order.membership.user.email]

    rest = {"amount": "70.00", "reason": "Left the field", "request_key": uuid.uuid4().hex}
    assert admin_client.post(refund_url(order), rest).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert Term.objects.get(order=order).voided_at is not None
    assert list(Refund.objects.order_by("number").values_list("number", "amount")) == [
        ("CN-2026-000001", Decimal("30.00")),
        ("CN-2026-000002", Decimal("70.00")),
    ]
    assert len(credit_notes_sent()) == 2

    # Stripe's charge.refunded event about the same money adds no third credit note.
    assert deliver(client, charge_refunded(order, intent, amount_refunded=10000)).content == b"already refunded"
    assert Refund.objects.count() == 2
    assert len(credit_notes_sent()) == 2


def test_more_than_is_refundable_is_refused_without_asking_stripe(client, admin_client, full, fake_stripe):
    order, _intent = paid_card_order(client, full, fake_stripe)
    requests_before = len(fake_stripe.requests)
    data = {"amount": "100.01", "reason": "Too much", "request_key": "k1"}
    response = admin_client.post(refund_url(order), data)
    assert response.status_code == 200
    assert "At most 100.00 can be refunded." in response.content.decode()
    assert len(fake_stripe.requests) == requests_before
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        (
            (402, {"type": "invalid_request_error", "code": "charge_disputed", "message": "Charge is disputed."}),
            "Charge is disputed.",
        ),
        ((500, {"type": "api_error", "message": "An unknown error occurred"}), "An unknown error occurred"),
    ],
)
def test_stripe_refusing_or_failing_shows_why_and_writes_nothing(
    client, admin_client, full, fake_stripe, monkeypatch, failure, shown
):
    order, _intent = paid_card_order(client, full, fake_stripe)
    fake_stripe.fail_refunds = failure
    response = admin_client.post(refund_url(order), {"amount": "100.00", "reason": "Duplicate", "request_key": "k"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Stripe did not refund order {order.number}, and nothing was recorded" in page
    assert shown in page
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not Refund.objects.exists()
    assert credit_notes_sent() == []


def test_stripe_unreachable_shows_why_and_writes_nothing(client, admin_client, full, fake_stripe, monkeypatch):
    order, _intent = paid_card_order(client, full, fake_stripe)
    monkeypatch.setattr(django_settings, "STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens on the discard port
    response = admin_client.post(refund_url(order), {"amount": "100.00", "reason": "Duplicate", "request_key": "k"})
    assert "nothing was recorded" in response.content.decode()
    assert not Refund.objects.exists()


def test_a_dashboard_refund_recorded_from_its_event_is_taken_over_by_the_admin_refund_it_was(client, full, fake_stripe):
    """Stripe's event can arrive before the admin's request records the refund: one credit note, not two."""
    order, intent = paid_card_order(client, full, fake_stripe)
    requested_at = timezone.now()
    assert deliver(client, charge_refunded(order, intent, amount_refunded=2500)).content == b"partially refunded"
    from_event = Refund.objects.get()
    adopted = refund_record(
        order=order,
        amount=Decimal("25.00"),
        method=PaymentMethod.CARD_ONLINE,
        refunded_on=datetime.date.today(),
        reason="Conference cancelled",
        stripe_refund="re_test_adopted",
        requested_at=requested_at,
        by=StaffFactory(),
    )
    assert adopted.pk == from_event.pk
    assert adopted.stripe_refund == "re_test_adopted"
    assert Refund.objects.count() == 1
    assert len(credit_notes_sent()) == 1
    # The same event again, or the charge refunded by the same amount, records nothing more.
    assert refund_from_charge(order=order, charge_id="ch_x", amount_refunded=2500, created=int(time.time())) is None


def test_a_bank_refund_is_recorded_with_its_date_and_reference_without_stripe(admin_client, full, fake_stripe):
    staff = StaffFactory()
    with time_machine.travel(datetime.datetime(2026, 5, 4, 10, tzinfo=datetime.UTC), tick=False):
        order = order_create(user=UserFactory(country="BR"), membership_type=full, provider=PaymentProvider.INVOICE)
        payment_record(
            order=order,
            amount=Decimal("100.00"),
            received_on=datetime.date(2026, 5, 2),
            method="bank_transfer",
            by=staff,
        )
        data = {
            "amount": "100.00",
            "reason": "Paid twice",
            "refunded_on": "2026-05-03",
            "method": "bank_transfer",
            "reference": "SEPA-RTN-881",
            "request_key": "k",
        }
        assert admin_client.post(refund_url(order), data).status_code == 302
    refund = Refund.objects.get()
    assert (refund.refunded_on, refund.method, refund.reference, refund.stripe_refund) == (
        datetime.date(2026, 5, 3),
        "bank_transfer",
        "SEPA-RTN-881",
        None,
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert not any(r["path"] == "/v1/refunds" for r in fake_stripe.requests)


def test_the_credit_note_is_printable_by_its_member_and_staff_only(client, full, fake_stripe):
    order, _intent = paid_card_order(client, full, fake_stripe)
    refund = refund_record(
        order=order,
        amount=Decimal("40.00"),
        method=PaymentMethod.CARD_ONLINE,
        refunded_on=datetime.date.today(),
        reason="Goodwill",
    )
    url = refund.get_absolute_url()
    assert url == f"/membership/credit-notes/{refund.number}/"
    client.force_login(order.membership.user)
    page = client.get(url).content.decode()
    for expected in (refund.number, order.number, "40.00", "Goodwill"):
        assert expected in page
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404


def test_credit_note_numbers_are_unique_in_the_database(client, full, fake_stripe):
    order, _intent = paid_card_order(client, full, fake_stripe)
    refund = refund_record(
        order=order, amount=Decimal("1.00"), method="card_online", refunded_on=datetime.date.today(), reason="x"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.create(
            number=refund.number,
            order=order,
            amount=Decimal("1.00"),
            currency="USD",
            refunded_on=datetime.date.today(),
            method="cash",
            reason="copy",
        )


# --- Reconcile ---------------------------------------------------------------------------------


def test_reconcile_button_applies_a_lost_webhook_once(admin_client, full, fake_stripe):
    order = card_order(full, fake_stripe)
    paid_when = int(datetime.datetime(2026, 2, 1, 9, tzinfo=datetime.UTC).timestamp())
    intent = fake_stripe.pay_session(order.provider_reference, created=paid_when)
    url = f"/admin/members/order/{order.pk}/reconcile/"
    response = admin_client.post(url, follow=True)
    assert f"Stripe says order {order.number} is paid: recorded." in response.content.decode()
    retrieve = next(r for r in fake_stripe.requests if r["path"].startswith("/v1/checkout/sessions/"))
    assert retrieve["query"]["expand[0]"] == ["payment_intent"]
    order.refresh_from_db()
    assert (order.status, order.payment_intent) == (OrderStatus.PAID, intent["id"])
    assert order.paid_at == datetime.datetime(2026, 2, 1, 9, tzinfo=datetime.UTC)
    # A second click, and the webhook arriving late after all, change nothing.
    admin_client.post(url)
    late = json.loads(completed_event(order, event_id="evt_late"))
    late["data"]["object"].update(id=order.provider_reference, payment_intent=intent["id"])
    deliver(admin_client, json.dumps(late))
    assert Term.objects.filter(order=order).count() == 1
    assert OutgoingEmail.objects.filter(kind="receipt").count() == 1


def test_reconcile_of_an_unpaid_session_or_with_stripe_down_changes_nothing(
    admin_client, full, fake_stripe, monkeypatch
):
    order = card_order(full, fake_stripe)
    url = f"/admin/members/order/{order.pk}/reconcile/"
    response = admin_client.post(url, follow=True)
    assert f"Stripe has no payment for order {order.number} (open); nothing was changed." in response.content.decode()
    monkeypatch.setattr(django_settings, "STRIPE_API_BASE", "http://127.0.0.1:9")
    response = admin_client.post(url, follow=True)
    assert "Stripe could not be asked; nothing was changed" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_periodic_job_reconciles_card_orders_pending_over_an_hour(full, fake_stripe, settings):
    app = make_test_app(settings.CELERY_BROKER_URL, new_queue_name())
    # In-process: what matters here is which orders the job picks and what each reconcile does.
    app.conf.task_always_eager = True
    start = datetime.datetime(2026, 3, 2, 8, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        stale = card_order(full, fake_stripe)
        stale_unpaid = card_order(full, fake_stripe, country="IN")
    with time_machine.travel(start + datetime.timedelta(minutes=50), tick=False):
        fresh = card_order(full, fake_stripe, country="DE")
    for order in (stale, fresh):
        fake_stripe.pay_session(order.provider_reference)
    with time_machine.travel(start + datetime.timedelta(minutes=70), tick=False), current_celery_app(app):
        reconcile_stale_card_orders()
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {stale.pk: "paid", stale_unpaid.pk: "pending", fresh.pk: "pending"}
    asked = {
        r["path"].rsplit("/", 1)[1] for r in fake_stripe.requests if r["path"].startswith("/v1/checkout/sessions/")
    }
    assert asked == {stale.provider_reference, stale_unpaid.provider_reference}


def test_reconcile_never_marks_paid_an_order_marked_paid_already(full, fake_stripe):
    order = card_order(full, fake_stripe)
    order_mark_paid(order=order)
    assert stripe_payments.order_reconcile(order=order) == "not pending"


def test_the_order_page_in_admin_lists_its_credit_notes(client, admin_client, full, fake_stripe):
    order, _intent = paid_card_order(client, full, fake_stripe)
    refund = refund_record(
        order=order, amount=Decimal("10.00"), method="card_online", refunded_on=datetime.date.today(), reason="Late"
    )
    page = admin_client.get(f"/admin/members/order/{order.pk}/change/").content.decode()
    assert refund.number in page
    assert f"/admin/members/order/{order.pk}/refund/" in page
