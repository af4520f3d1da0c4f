"""Card payments with Stripe Checkout: create a session for an order; process signed webhook events once."""

import datetime
import json

import stripe as stripe_sdk
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from members.models import Membership, Order, OrderStatus, PaymentProvider, StripeEvent
from members.services import autorenew, refunds, renewal_charges
from members.services.autorenew import autorenew_customer
from members.services.payments import order_mark_paid, order_set_reference

# The client and errors live in stripe_api, which the auto-renew service shares; named here as before.
from members.services.stripe_api import (  # noqa: F401
    ZERO_DECIMAL_CURRENCIES,
    CheckoutUnavailable,
    WebhookRejected,
    client,
    is_enabled,
    to_minor_units,
)


def checkout_session_url(*, order: Order, request, save_card: bool = False) -> str:
    """Create (or, on a repeat with the same idempotency key, get back) the order's Checkout Session.

    `save_card`: the member chose to renew automatically, so the card is kept by Stripe for off-session
    charges (on a Customer of theirs) and the webhook saves it for auto-renew."""
    success_url = request.build_absolute_uri(order.get_absolute_url()) + "?checkout=done"
    cancel_url = request.build_absolute_uri(reverse("members:home"))
    params = {
        "mode": "payment",
        "client_reference_id": order.number,
        "metadata": {"order_number": order.number},
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": order.currency.lower(),
                    "unit_amount": to_minor_units(order.amount, order.currency),
                    "product_data": {"name": f"{order.membership_type.name} membership ({order.number})"},
                },
            }
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    # One session per order: a double submit or a retry gets the same session back from Stripe.
    idempotency_key = f"checkout-session-{order.number}"
    try:
        if save_card:
            params["customer"] = autorenew_customer(membership=order.membership)
            params["payment_intent_data"] = {"setup_future_usage": "off_session"}
            params["metadata"]["auto_renew"] = "1"
            # Other parameters, so another key: Stripe refuses a key reused with different parameters.
            idempotency_key += "-auto-renew"
        else:
            params["customer_email"] = order.membership.user.email
        session = client().v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key})
    except stripe_sdk.StripeError as error:
        raise CheckoutUnavailable(str(error)) from error
    order_set_reference(order=order, provider_reference=session.id)
    return session.url


class SavedCardDeclined(Exception):
    """The saved card was refused; the member chooses another way to pay."""


def order_pay_with_saved_card(*, order: Order, card) -> bool:
    """Charge the member's saved card (`card`: their AutoRenew row) for `order` while they are on the page: the
    "one click" renewal. True when paid (one term, through order_mark_paid); False when the bank asks the member
    to confirm, which Stripe Checkout then does. Raises SavedCardDeclined, or CheckoutUnavailable when Stripe
    does not answer. No transaction is open during the call; one idempotency key per order, so a double submit
    charges once."""
    try:
        intent = client().v1.payment_intents.create(
            {
                "amount": to_minor_units(order.amount, order.currency),
                "currency": order.currency.lower(),
                "customer": card.stripe_customer,
                "payment_method": card.payment_method,
                "confirm": True,
                # A card needs no redirect; 3-D Secure is answered with requires_action and taken by Checkout.
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                "description": f"{order.membership_type.name} membership ({order.number})",
                "metadata": {"order_number": order.number},
            },
            {"idempotency_key": f"saved-card-{order.number}"},
        )
    except stripe_sdk.CardError as error:
        body = error.json_body.get("error", {}) if isinstance(error.json_body, dict) else {}
        if body.get("code") == "authentication_required":
            return False
        raise SavedCardDeclined(error.user_message or str(error)) from error
    except stripe_sdk.StripeError as error:
        raise CheckoutUnavailable(str(error)) from error
    if intent.status == "requires_action":
        return False
    if intent.status != "succeeded":
        raise SavedCardDeclined(intent.status)
    order_mark_paid(order=order, payment_intent=intent.id)
    return True


def webhook_process(*, payload: bytes, signature: str) -> str:
    """Verify and apply one webhook delivery; returns what happened. Raises WebhookRejected for a 400.

    The event row is inserted and locked first, so concurrent or repeated deliveries of one event wait
    for the first and then find it processed. A rejection rolls back everything, event row included.
    """
    try:
        # Checks the HMAC-SHA256 signature and refuses timestamps older than the default tolerance (300 s).
        # Only the signature: the SDK's construct_event fails on JSON that is not an object; _event_from refuses it.
        stripe_sdk.WebhookSignature.verify_header(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=stripe_sdk.Webhook.DEFAULT_TOLERANCE
        )
    except (ValueError, stripe_sdk.SignatureVerificationError) as error:
        raise WebhookRejected(str(error)) from error
    event = _event_from(payload)
    saved = None
    if event["type"] == "checkout.session.completed":
        try:
            # The card's details come from Stripe: asked before the transaction, never while holding locks.
            saved = autorenew.saved_card_of_session(session=event["data"]["object"])
        except stripe_sdk.StripeError as error:
            raise WebhookRejected(f"card details unavailable, Stripe will deliver again: {error}") from error

    with transaction.atomic():
        StripeEvent.objects.bulk_create([StripeEvent(event_id=event["id"], type=event["type"])], ignore_conflicts=True)
        record = StripeEvent.objects.select_for_update().get(event_id=event["id"])
        if record.processed_at is not None:
            return "duplicate"
        outcome = "ignored"
        if event["data"]["object"].get("mode") == "setup":
            outcome = "card saved" if saved else "ignored"  # a card for auto-renew; no order is paid
        elif event["type"] in {"checkout.session.completed", "checkout.session.async_payment_succeeded"}:
            record.order, outcome = _session_paid(event)
        elif event["type"] in {"payment_intent.succeeded", "payment_intent.payment_failed"}:
            record.order, outcome = renewal_charges.intent_event_apply(event=event)
        elif event["type"] == "charge.refunded":
            record.order, outcome = _charge_refunded(event)
        if saved is not None:
            membership_id, card = saved
            autorenew.autorenew_card_save(membership=Membership(pk=membership_id), card=card)
        record.processed_at = timezone.now()
        record.save(update_fields=["order", "processed_at"])
    return outcome


def _text(value, *, field) -> str | None:
    """`value` if it is text the column `field` can hold (PostgreSQL refuses NUL in any text), else None."""
    max_length = field.max_length or 10_000
    if isinstance(value, str) and value and len(value) <= max_length and "\x00" not in value:
        return value
    return None


def _event_from(payload: bytes) -> dict:
    """The event a signed body holds. A valid signature proves who sent the body, not that it is an event:
    any other JSON ([], {}, an event without id or data.object) is rejected before anything is written."""
    try:
        event = json.loads(payload)
    except ValueError as error:  # includes a body that is not UTF-8
        raise WebhookRejected(f"not JSON: {error}") from error
    if not isinstance(event, dict):
        raise WebhookRejected("not an event object")
    if _text(event.get("id"), field=StripeEvent._meta.get_field("event_id")) is None:
        raise WebhookRejected("event without a usable id")
    if _text(event.get("type"), field=StripeEvent._meta.get_field("type")) is None:
        raise WebhookRejected("event without a usable type")
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        raise WebhookRejected("event without data.object")
    created = event.get("created")
    if isinstance(created, bool) or not isinstance(created, int) or not 0 < created < 2**32:
        raise WebhookRejected("event without a usable creation time")
    return event


def _session_paid(event: dict) -> tuple[Order, str]:
    session = event["data"]["object"]
    metadata = session.get("metadata") if isinstance(session.get("metadata"), dict) else {}
    number = metadata.get("order_number") or session.get("client_reference_id")
    number_field = Order._meta.get_field("number")
    order = Order.objects.filter(number=number).first() if _text(number, field=number_field) else None
    if order is None:
        raise WebhookRejected(f"unknown order {number!r:.100}")
    session_id = _text(session.get("id"), field=Order._meta.get_field("provider_reference"))
    payment_intent = session.get("payment_intent") or None
    if session_id is None or (
        payment_intent is not None and _text(payment_intent, field=Order._meta.get_field("payment_intent")) is None
    ):
        raise WebhookRejected(f"session of {order.number} without a usable id or payment intent")
    if session.get("amount_total") != to_minor_units(order.amount, order.currency) or (
        str(session.get("currency", "")).upper() != order.currency.upper()
    ):
        raise WebhookRejected(f"amount or currency of {order.number} does not match")
    if session.get("payment_status") != "paid":
        return order, "waiting"  # bank debits confirm later with async_payment_succeeded
    paid_at = datetime.datetime.fromtimestamp(event["created"], tz=datetime.UTC)
    try:
        order_mark_paid(
            order=order,
            provider_reference=session_id,
            # Refund events name the PaymentIntent only; keep it so they can find this order.
            payment_intent=payment_intent,
            paid_at=paid_at,
        )
    except ValidationError as error:  # e.g. the order was refunded meanwhile: staff must look at it
        raise WebhookRejected("; ".join(error.messages)) from error
    return order, "paid"


def _charge_refunded(event: dict) -> tuple[Order | None, str]:
    """A refund, full or partial, made in Stripe's dashboard or from the admin: the portal records what it
    does not know yet, with its credit note; a refund the admin already recorded adds nothing."""
    charge = event["data"]["object"]
    payment_intent = _text(charge.get("payment_intent"), field=Order._meta.get_field("payment_intent"))
    order = Order.objects.filter(payment_intent=payment_intent).first() if payment_intent else None
    if order is None:
        raise WebhookRejected(f"no order for payment intent {charge.get('payment_intent')!r:.100}")
    charge_id = _text(charge.get("id"), field=Order._meta.get_field("provider_reference"))
    if charge_id is None:
        raise WebhookRejected(f"charge of {order.number} without a usable id")
    amount_refunded = charge.get("amount_refunded")
    if isinstance(amount_refunded, bool) or not isinstance(amount_refunded, int) or amount_refunded < 0:
        raise WebhookRejected(f"charge of {order.number} without a usable amount_refunded")
    try:
        refund = refunds.refund_from_charge(
            order=order, charge_id=charge_id, amount_refunded=amount_refunded, created=event["created"]
        )
    except ValidationError as error:  # not paid, or more than was paid: staff must look at it
        raise WebhookRejected("; ".join(error.messages)) from error
    if refund is None:
        return order, "already refunded"
    order.refresh_from_db(fields=["status"])
    return order, "refunded" if order.status == OrderStatus.REFUNDED else "partially refunded"


class ReconcileUnavailable(Exception):
    """Stripe could not be asked about the order (network, configuration); nothing was changed."""


def order_reconcile(*, order: Order) -> str:
    """Ask Stripe about a pending card order's Checkout Session and apply what its webhook would have applied
    (a delivery can be lost): paid through the same idempotent order_mark_paid. Returns what happened.

    Stripe is asked with no transaction open; order_mark_paid then takes its own short one.
    """
    order = Order.objects.get(pk=order.pk)
    if order.provider != PaymentProvider.STRIPE or order.status != OrderStatus.PENDING:
        return "not pending"
    if not order.provider_reference:
        return "no checkout"  # the member never reached Stripe: there is nothing to ask about
    try:
        session = (
            client().v1.checkout.sessions.retrieve(order.provider_reference, {"expand": ["payment_intent"]}).to_dict()
        )
    except stripe_sdk.StripeError as error:
        raise ReconcileUnavailable(str(error)) from error
    if session.get("payment_status") != "paid":
        return str(session.get("status") or "open")
    if session.get("amount_total") != to_minor_units(order.amount, order.currency) or (
        str(session.get("currency", "")).upper() != order.currency.upper()
    ):
        raise ReconcileUnavailable(f"amount or currency of {order.number} does not match")
    intent = session.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    # The money arrived when the PaymentIntent was confirmed, not when staff (or the job) asked.
    created = intent.get("created") if isinstance(intent, dict) else None
    paid_at = datetime.datetime.fromtimestamp(created, tz=datetime.UTC) if created else None
    order_mark_paid(order=order, provider_reference=session["id"], payment_intent=intent_id, paid_at=paid_at)
    return "paid"
