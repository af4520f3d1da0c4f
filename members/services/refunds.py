"""Refunds that move money: a card refund through Stripe's Refund API, a bank refund recorded by the office,
and Stripe's own refund events; each refund gets a credit note with its own sequential number.

A card refund asks Stripe first, with no transaction open, and records the refund only once Stripe has
accepted it: when Stripe is down or declines, nothing is written. Stripe's charge.refunded event for the
same refund then finds it recorded and issues no second credit note.
"""

import datetime
from decimal import Decimal

import stripe as stripe_sdk
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import CreditNoteCounter, Order, OrderStatus, PaymentMethod, PaymentProvider, Refund

# A module import: services.stripe imports this module too, for Stripe's refund events.
from members.services import stripe as stripe_payments
from members.services.documents import refund_email_send
from members.services.payments import MSG_ALREADY_REFUNDED, order_refund

MSG_REFUND_AMOUNT = _("Enter an amount to refund between 0.01 and %(refundable)s.")
MSG_REFUND_NOT_PAID = _("Order %(number)s is not paid (status: %(status)s), so it cannot be refunded.")
MSG_REFUND_REASON = _("Give the reason for the refund.")
MSG_REFUND_NOT_CARD = _("Order %(number)s was not paid by card: record the refund with its date and reference.")
MSG_REFUND_NO_INTENT = _("Stripe's payment for order %(number)s is not known yet: reconcile the order first.")
MSG_REFUND_STRIPE = _("Stripe did not refund order %(number)s, and nothing was recorded: %(error)s")
MSG_REFUND_FUTURE = _("The date refunded cannot be in the future.")
MSG_REFUND_METHOD = _("Choose how the money was returned.")


def credit_note_number_next(*, year: int) -> str:
    """`CN-2026-000123`: the counter row lock makes credit note numbers sequential and gapless per year."""
    CreditNoteCounter.objects.bulk_create([CreditNoteCounter(year=year)], ignore_conflicts=True)
    counter = CreditNoteCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"CN-{year}-{counter.last_number:06d}"


def refundable_amount(order: Order) -> Decimal:
    """What may still go back: the order's amount less the refunds already made (nothing unless it is paid)."""
    if order.status != OrderStatus.PAID:
        return Decimal("0")
    return order.amount - order.refunds.total()


def from_minor_units(amount: int, currency: str) -> Decimal:
    if currency.upper() in stripe_payments.ZERO_DECIMAL_CURRENCIES:
        return Decimal(amount)
    return Decimal(amount) / 100


def _check_refundable(*, order: Order, amount: Decimal | None, reason: str) -> None:
    if not (reason or "").strip():
        raise ValidationError(MSG_REFUND_REASON, code="reason")
    if order.status != OrderStatus.PAID:
        raise ValidationError(
            MSG_REFUND_NOT_PAID,
            code="not_paid",
            params={"number": order.number, "status": OrderStatus(order.status).label},
        )
    refundable = refundable_amount(order)
    if amount is None or not Decimal("0") < amount <= refundable:
        raise ValidationError(MSG_REFUND_AMOUNT, code="amount", params={"refundable": refundable})


def refund_record(
    *,
    order: Order,
    amount: Decimal,
    method: str,
    refunded_on: datetime.date,
    reason: str,
    reference: str = "",
    stripe_refund: str | None = None,
    requested_at: datetime.datetime | None = None,
    by=None,
) -> Refund:
    """Record money given back for a paid order and issue its credit note (emailed to the member).

    Partial refunds keep the term; the refund that brings the total to the order's amount refunds the order
    and voids its term. Idempotent per Stripe refund id. A card refund made from the admin whose Stripe event
    was recorded first (the event can overtake the admin's own write; `requested_at` is when the admin asked
    Stripe) takes over that event's row rather than issuing a second credit note.
    """
    if method not in PaymentMethod.values:
        raise ValidationError(MSG_REFUND_METHOD, code="method")
    if refunded_on > timezone.localdate():
        raise ValidationError(MSG_REFUND_FUTURE, code="future")
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("membership__user").get(pk=order.pk)
        if stripe_refund:
            existing = Refund.objects.filter(stripe_refund=stripe_refund).first()
            if existing is not None:
                return existing
            # Stripe's event names the charge, not the refund: a row it wrote for this very amount since this
            # refund was requested is this refund (a different refund of the same amount in the same seconds,
            # from Stripe's dashboard, is the one case this would fold into one credit note).
            from_event = None
            if requested_at is not None:
                from_event = order.refunds.filter(
                    stripe_refund__isnull=True,
                    method=PaymentMethod.CARD_ONLINE,
                    amount=amount,
                    recorded_by=None,
                    recorded_at__gte=requested_at,
                ).first()
            if from_event is not None:
                from_event.stripe_refund, from_event.recorded_by = stripe_refund, by
                from_event.save(update_fields=["stripe_refund", "recorded_by"])
                return from_event
        _check_refundable(order=order, amount=amount, reason=reason)
        reason = reason.strip()
        refund = Refund(
            number=credit_note_number_next(year=timezone.localdate().year),
            order=order,
            amount=amount,
            currency=order.currency,
            refunded_on=refunded_on,
            method=method,
            reference=(reference or "").strip(),
            stripe_refund=stripe_refund or None,
            reason=reason,
            recorded_by=by,
        )
        refund._history_user = by
        refund.save()
        if refundable_amount(order) == 0:
            order_refund(order=order, reason=reason, by=by)
        refund_email_send(refund=refund)
    return refund


def refund_card(*, order: Order, amount: Decimal, reason: str, request_key: str, by) -> Refund:
    """Refund (part of) a card order through Stripe, then record it. `request_key` identifies one refund
    request (one form shown to staff): a double submit or a retry sends Stripe the same idempotency key and
    gets the same refund back, never a second one."""
    order = Order.objects.get(pk=order.pk)
    _check_refundable(order=order, amount=amount, reason=reason)
    if order.provider != PaymentProvider.STRIPE:
        raise ValidationError(MSG_REFUND_NOT_CARD, code="not_card", params={"number": order.number})
    if not order.payment_intent:
        raise ValidationError(MSG_REFUND_NO_INTENT, code="no_intent", params={"number": order.number})
    requested_at = timezone.now()
    # No transaction is open here: Stripe may take seconds, and a lock held meanwhile would stall the webhook.
    try:
        refund = (
            stripe_payments.client()
            .v1.refunds.create(
                {
                    "payment_intent": order.payment_intent,
                    "amount": stripe_payments.to_minor_units(amount, order.currency),
                    "reason": "requested_by_customer",
                    "metadata": {"order_number": order.number},
                },
                {"idempotency_key": f"refund-{order.number}-{request_key}"},
            )
            .to_dict()
        )
    except stripe_sdk.StripeError as error:
        message = getattr(error, "user_message", None) or str(error) or type(error).__name__
        raise ValidationError(
            MSG_REFUND_STRIPE, code="stripe", params={"number": order.number, "error": message}
        ) from error
    if refund["status"] in ("failed", "canceled"):
        raise ValidationError(
            MSG_REFUND_STRIPE,
            code="stripe",
            params={"number": order.number, "error": refund.get("failure_reason") or refund["status"]},
        )
    return refund_record(
        order=order,
        amount=from_minor_units(refund["amount"], order.currency),
        method=PaymentMethod.CARD_ONLINE,
        refunded_on=timezone.localdate(datetime.datetime.fromtimestamp(refund["created"], tz=datetime.UTC)),
        reason=reason,
        reference=refund["id"],
        stripe_refund=refund["id"],
        requested_at=requested_at,
        by=by,
    )


def refund_from_charge(*, order: Order, charge_id: str, amount_refunded: int, created: int) -> Refund | None:
    """Stripe says the charge has `amount_refunded` (minor units) refunded in all: record what the portal does
    not know yet (a refund made in Stripe's dashboard). A refund made from the admin is already recorded, so
    its event adds nothing."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        known = order.refunds.filter(method=PaymentMethod.CARD_ONLINE).total()
        missing = from_minor_units(amount_refunded, order.currency) - known
        if missing <= 0:
            return None
        return refund_record(
            order=order,
            amount=missing,
            method=PaymentMethod.CARD_ONLINE,
            refunded_on=timezone.localdate(datetime.datetime.fromtimestamp(created, tz=datetime.UTC)),
            reason=f"Refunded in Stripe (charge {charge_id})",
            reference=charge_id,
        )


def refund_record_in_full(*, order: Order, reason: str, by) -> Refund:
    """Record that everything still refundable went back today, outside the portal (in Stripe's dashboard for
    a card order, else by the office): the admin's bulk action. The credit note and the voided term follow."""
    order = Order.objects.get(pk=order.pk)
    if order.status == OrderStatus.REFUNDED:
        raise ValidationError(MSG_ALREADY_REFUNDED, code="already_refunded", params={"number": order.number})
    return refund_record(
        order=order,
        amount=refundable_amount(order),
        method=PaymentMethod.CARD_ONLINE if order.provider == PaymentProvider.STRIPE else PaymentMethod.OTHER,
        refunded_on=timezone.localdate(),
        reason=reason,
        by=by,
    )
