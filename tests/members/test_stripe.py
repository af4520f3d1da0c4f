"""Stripe Checkout: session creation against a local Stripe-like server, signed webhooks built for real."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest

from members.models import Order, OrderStatus, StripeEvent, Term
from members.services.payments import order_create, order_mark_paid
from society.models import OutgoingEmail
from tests.factories import UserFactory, price_matrix
from tests.members.stripe_server import WEBHOOK_SECRET

URL = "/payments/stripe/webhook/"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


@pytest.fixture
def order(db):
    full = price_matrix("Full")["Full"]
    return order_create(user=UserFactory(country="BR"), membership_type=full, provider="stripe")


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def completed_event(order, *, event_id="evt_test_1", amount=None, currency=None, payment_status="paid"):
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2025-01-27.acacia",
            "data": {
                "object": {
                    "id": "cs_test_paid",
                    "object": "checkout.session",
                    "amount_total": 10000 if amount is None else amount,
                    "currency": currency or "usd",
                    "client_reference_id": order.number,
                    "metadata": {"order_number": order.number},
                    "payment_status": payment_status,
                    "status": "complete",
                }
            },
        }
    )


def deliver(client, payload, signature=None):
    return client.post(
        URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature or sign(payload)
    )


def test_join_by_card_creates_a_checkout_session_with_an_idempotency_key(client, fake_stripe):
    full = price_matrix("Full")["Full"]
    member = UserFactory(country="IN")
    client.force_login(member)
    response = client.post("/membership/join/", {"membership_type": full.pk, "provider": "stripe"})
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == "https://checkout.stripe.com/c/pay/cs_test_000000000000000000000001"
    request = fake_stripe.requests[0]
    assert request["headers"]["Idempotency-Key"] == f"checkout-session-{order.number}"
    assert request["headers"]["Authorization"] == "Bearer sk_test_local"
    assert request["form"]["line_items[0][price_data][unit_amount]"] == "5000"
    assert request["form"]["metadata[order_number]"] == order.number
    assert order.provider_reference == "cs_test_000000000000000000000001"
    # A second submit (back button, double click) reuses the order and gets the same session back.
    client.post("/membership/join/", {"membership_type": full.pk, "provider": "stripe"})
    assert Order.objects.count() == 1
    assert fake_stripe.requests[1]["headers"]["Idempotency-Key"] == request["headers"]["Idempotency-Key"]


def test_completed_checkout_marks_the_order_paid_once_even_delivered_ten_times(client, order):
    payload = completed_event(order)
    responses = [deliver(client, payload) for _ in range(10)]
    assert [r.status_code for r in responses] == [200] * 10
    assert responses[0].content == b"paid"
    assert {r.content for r in responses[1:]} == {b"duplicate"}
    order.refresh_from_db()
    assert (order.status, order.provider_reference) == (OrderStatus.PAID, "cs_test_paid")
    assert Term.objects.filter(order=order).count() == 1
    assert StripeEvent.objects.get().processed_at is not None
    # One receipt in the outbox, however often Stripe repeats itself.
    assert list(OutgoingEmail.objects.values_list("kind", "to")) == [("receipt", order.membership.user.email)]


@pytest.mark.parametrize(
    "signature",
    [
        lambda payload: sign(payload, secret="whsec_forged"),
        lambda payload: sign(payload, timestamp=int(time.time()) - 3600),  # stale: replayed an hour later
        lambda payload: "t=1,v1=deadbeef",
        lambda payload: "",
    ],
    ids=["forged", "stale", "garbage", "missing"],
)
def test_badly_signed_events_are_rejected_and_change_nothing(client, order, signature):
    payload = completed_event(order)
    assert deliver(client, payload, signature(payload) or "none").status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not StripeEvent.objects.exists()
    assert not Term.objects.exists()


@pytest.mark.parametrize(("amount", "currency"), [(9999, "usd"), (10000, "eur"), (1000000, "usd")])
def test_amount_or_currency_mismatch_is_rejected(client, order, amount, currency):
    response = deliver(client, completed_event(order, amount=amount, currency=currency))
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not StripeEvent.objects.exists()


def test_unknown_order_is_rejected(client, order):
    order.number = "2026-999999"
    assert deliver(client, completed_event(order)).status_code == 400
    assert not StripeEvent.objects.exists()


def test_unpaid_completed_session_waits_and_other_events_are_acknowledged(client, order):
    assert deliver(client, completed_event(order, payment_status="unpaid")).content == b"waiting"
    other = json.dumps({"id": "evt_other", "type": "customer.created", "created": 1, "data": {"object": {}}})
    assert deliver(client, other).content == b"ignored"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_return_page_is_honest_about_payment(client, order):
    client.force_login(order.membership.user)
    page = client.get(f"{order.get_absolute_url()}?checkout=done")
    assert b"Waiting for confirmation" in page.content
    deliver(client, completed_event(order))
    page = client.get(f"{order.get_absolute_url()}?checkout=done")
    assert b"Payment received" in page.content
    assert order.amount == Decimal("100.00")


def test_webhook_is_off_without_stripe_keys(client, order, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert deliver(client, completed_event(order)).status_code == 404


def event_with(order, **changes):
    """A completed-checkout event with top-level keys replaced (None removes the key)."""
    event = json.loads(completed_event(order))
    for key, value in changes.items():
        event.pop(key) if value is None else event.__setitem__(key, value)
    return json.dumps(event)


def session_with(order, **changes):
    event = json.loads(completed_event(order))
    event["data"]["object"].update(changes)
    return json.dumps(event)


@pytest.mark.parametrize(
    "payload",
    [
        lambda order: "[]",
        lambda order: "{}",
        lambda order: "null",
        lambda order: '"evt_1"',
        lambda order: "42",
        lambda order: event_with(order, id=None),
        lambda order: event_with(order, id=""),
        lambda order: event_with(order, id=["evt_1"]),
        lambda order: event_with(order, id="evt_\u0000"),
        lambda order: event_with(order, id="e" * 256),
        lambda order: event_with(order, type=None),
        lambda order: event_with(order, type={"a": 1}),
        lambda order: event_with(order, data=None),
        lambda order: event_with(order, data=[]),
        lambda order: event_with(order, data={}),
        lambda order: event_with(order, data={"object": None}),
        lambda order: event_with(order, data={"object": []}),
        lambda order: event_with(order, created=None),
        lambda order: event_with(order, created="yesterday"),
        lambda order: event_with(order, created=99999999999999999999),
        lambda order: session_with(order, id=None),
        lambda order: session_with(order, id="cs_\u0000"),
        lambda order: session_with(order, metadata=[], client_reference_id={"number": order.number}),
        lambda order: session_with(order, metadata={"order_number": ["x"]}),
        lambda order: session_with(order, metadata={"order_number": "\u0000"}),
        lambda order: session_with(order, payment_intent={"id": "pi_1"}),
        lambda order: session_with(order, payment_intent="p" * 256),
    ],
)
def test_a_signed_body_that_is_not_a_usable_event_is_rejected_and_writes_nothing(client, order, payload):
    response = deliver(client, payload(order))
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not StripeEvent.objects.exists()
    assert not Term.objects.exists()
    assert not OutgoingEmail.objects.exists()


@pytest.mark.parametrize(
    "charge",
    [{"payment_intent": None}, {"payment_intent": ["pi_1"]}, {"payment_intent": "pi_\u0000"}, {"id": None}],
)
def test_a_refund_event_without_a_usable_charge_is_rejected_and_writes_nothing(client, order, charge):
    order_mark_paid(order=order, provider_reference="cs_test_paid", payment_intent="pi_1")
    event = {
        "id": "evt_refund",
        "type": "charge.refunded",
        "created": int(time.time()),
        "data": {"object": {"id": "ch_1", "payment_intent": "pi_1", "refunded": True, **charge}},
    }
    assert deliver(client, json.dumps(event)).status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not StripeEvent.objects.exists()
