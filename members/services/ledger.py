"""The money the society received: payments the office records against orders (in parts, on the day the
money arrived, by any method), and the staff review of payments that could not settle their order."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Order, OrderStatus, Payment, PaymentMethod, PaymentReview
from members.services.payments import MSG_PAYMENT_AMOUNT, order_mark_paid

MSG_PAYMENT_FUTURE = _("The date received cannot be in the future.")
MSG_PAYMENT_METHOD = _("Choose how the money was received.")


def _day_received(received_on: datetime.date) -> datetime.datetime:
    if received_on >= timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(received_on, datetime.time.min))


def payment_record(
    *,
    order: Order,
    amount: Decimal,
    received_on: datetime.date,
    method: str,
    reference: str = "",
    note: str = "",
    by,
) -> Payment:
    """Record money the office received for an order. When the payments reach the order's amount, the order
    is paid as of the day the money arrived (its term starts from that day, not from the day staff clicked).

    Nothing is dropped: a payment beyond the amount, or for an order that was cancelled or refunded, is
    recorded and flagged for staff to review (return the money, or move it to the right order).
    """
    if amount is None or amount <= 0:
        raise ValidationError(MSG_PAYMENT_AMOUNT, code="amount")
    if received_on > timezone.localdate():
        raise ValidationError(MSG_PAYMENT_FUTURE, code="future")
    if method not in PaymentMethod.values or method == PaymentMethod.CARD_ONLINE:
        raise ValidationError(MSG_PAYMENT_METHOD, code="method")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        received_before = order.payments.total()
        payment = Payment(
            order=order,
            amount=amount,
            currency=order.currency,
            received_on=received_on,
            method=method,
            reference=(reference or "").strip(),
            note=(note or "").strip(),
            recorded_by=by,
        )
        if order.status in (OrderStatus.CANCELLED, OrderStatus.FAILED, OrderStatus.REFUNDED):
            payment.review = PaymentReview.ORDER_CLOSED
        elif order.status == OrderStatus.PAID or received_before + amount > order.amount:
            payment.review = PaymentReview.OVERPAID
        payment._history_user = by
        payment.save()
        if order.status == OrderStatus.PENDING and received_before + amount >= order.amount:
            order_mark_paid(order=order, paid_at=_day_received(received_on), by=by)
    return payment


@transaction.atomic
def payment_mark_reviewed(*, payment: Payment, by) -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.reviewed_at is None:
        payment.reviewed_at, payment.reviewed_by = timezone.now(), by
        payment._history_user = by
        payment.save(update_fields=["reviewed_at", "reviewed_by"])
    return payment
