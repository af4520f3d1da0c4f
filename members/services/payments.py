"""Orders and payments: create an order at a frozen price, record money received (in parts, by any method),
mark it paid (one term, exactly once), comp a term, approve, refund; and the emails about orders (invoice, receipt, approval), written to the outbox in the
same transaction as the change they announce, once per order."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import (
    Membership,
    MembershipSource,
    MembershipType,
    Order,
    OrderNumberCounter,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentProvider,
    Term,
    User,
)
from members.services.accounts import member_create, user_billing_update
from members.services.documents import order_email_send, order_email_was_sent
from members.services.memberships import (
    MSG_NOT_PURCHASABLE,
    MSG_REASON_REQUIRED,
    band_for_country,
    check_may_order,
    last_end_of,
    next_term_start,
    price_quote,
    term_end_for,
)

MSG_REFUNDED = _("Order %(number)s was refunded and cannot be marked paid.")
MSG_PROVIDER_NOT_ALLOWED = _("Members pay by card or by invoice.")
MSG_STATEMENT_REQUIRED = _(
    "%(type)s membership is approved by the office: please describe how you meet its eligibility."
)
MSG_NOT_AWAITING_APPROVAL = _("Order %(number)s is not waiting for approval.")
MSG_ALREADY_REFUNDED = _("Order %(number)s was already refunded; nothing was changed.")
MSG_NOT_PAID = _("Order %(number)s is not paid (status: %(status)s), so it cannot be refunded.")

MSG_PAYMENT_AMOUNT = _("Enter the amount received: more than zero.")
MSG_PRICE_REASON = _("The price list says %(amount)s: give the reason for a different price.")

MEMBER_PROVIDERS = (PaymentProvider.STRIPE, PaymentProvider.INVOICE)


def order_number_next(*, year: int) -> str:
    """The next number of the year, `2026-000123`. The counter row lock makes numbers sequential and gapless."""
    # Insert the year's row if missing without racing another request doing the same.
    OrderNumberCounter.objects.bulk_create([OrderNumberCounter(year=year)], ignore_conflicts=True)
    counter = OrderNumberCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{year}-{counter.last_number:06d}"


def _membership_locked(*, user, source: str) -> Membership:
    # get_or_create survives a concurrent first order (savepoint, then get) and, unlike an
    # INSERT ... ON CONFLICT, saves through the model so the new membership gets its history row.
    # `source` is only written for a new membership: a renewal never changes how the member came.
    Membership.objects.get_or_create(user=user, defaults={"source": source})
    return Membership.objects.select_for_update().get(user=user)


@transaction.atomic
def order_create(
    *,
    user,
    membership_type: MembershipType,
    provider: str,
    statement: str = "",
    years: int = 1,
    created_by=None,
    amount: Decimal | None = None,
    price_reason: str = "",
    office: bool = False,
    send_invoice: bool = True,
    billing: dict[str, str] | None = None,
) -> Order:
    """Create a pending order for joining or renewing, freezing today's price, band and country on it.

    For types that need approval (Student), the member's statement is required and payment waits for
    staff to approve the order (order_approve). An invoice order that needs no approval is emailed to the
    member at once (once per order, however often it is asked for).

    The member's membership row is locked, so a double click or two tabs reuse one pending order instead
    of creating two. A member who switches type or method gets a new order; the older pending one is void.

    `billing` (name, institution, address, tax id given at checkout) is saved on the member's profile and
    frozen on the order, in the same transaction.

    `office=True` is staff taking an order by phone or at the desk (`created_by` is the staff member): the
    order is approved as it is made, the price may differ from the matrix (`amount`, with a required
    `price_reason`), and staff choose whether the invoice is emailed (`send_invoice`).
    """
    if provider not in MEMBER_PROVIDERS:
        raise ValidationError(MSG_PROVIDER_NOT_ALLOWED, code="provider")
    if not (membership_type.is_purchasable and membership_type.is_active):
        raise ValidationError(MSG_NOT_PURCHASABLE, code="not_purchasable", params={"type": membership_type.name})
    statement = (statement or "").strip()
    if membership_type.requires_approval and not statement and not office:
        raise ValidationError(MSG_STATEMENT_REQUIRED, code="statement_required", params={"type": membership_type.name})
    if membership_type.is_lifetime:
        years = 1  # one price, no length
    quote = price_quote(user=user, membership_type=membership_type, years=years)
    price_reason = (price_reason or "").strip() if office else ""
    if amount is None or not office:
        amount = quote.amount
    elif amount < 0:
        raise ValidationError(MSG_PAYMENT_AMOUNT, code="amount")
    elif amount != quote.amount and not price_reason:
        raise ValidationError(MSG_PRICE_REASON, code="price_reason", params={"amount": quote.amount})
    membership = _membership_locked(user=user, source=MembershipSource.OFFICE if office else MembershipSource.ONLINE)
    check_may_order(membership=membership)
    if billing is not None:
        user = user_billing_update(user=user, billing=billing)

    pending = Order.objects.select_for_update().filter(membership=membership, status=OrderStatus.PENDING)
    for order in pending:
        if (order.membership_type_id, order.years, order.provider, order.amount, order.band) == (
            membership_type.pk,
            quote.years,
            provider,
            amount,
            quote.band,
        ):
            if send_invoice:
                _invoice_send_if_due(order=order)
            return order
    for order in pending:
        order.status = OrderStatus.CANCELLED
        order._history_user = created_by or user
        order.save(update_fields=["status"])

    order = Order(
        number=order_number_next(year=timezone.localdate().year),
        membership=membership,
        membership_type=membership_type,
        country=quote.country,
        band=quote.band,
        years=quote.years,
        amount=amount,
        price_reason=price_reason,
        currency=quote.currency,
        provider=provider,
        needs_approval=membership_type.requires_approval,
        applicant_statement=statement if membership_type.requires_approval else "",
        created_by=created_by or user,
        **billing_details_of(user),
    )
    if office and order.needs_approval:
        order.approved_at, order.approved_by = timezone.now(), created_by
    order._history_user = created_by or user
    order.save()
    if send_invoice:
        _invoice_send_if_due(order=order)
    return order


@transaction.atomic
def office_order_create(
    *,
    by,
    email: str,
    membership_type: MembershipType,
    full_name: str = "",
    country: str = "",
    amount: Decimal | None = None,
    price_reason: str = "",
    send_invoice: bool = True,
) -> Order:
    """Staff take an order by phone or at the meeting desk: for an existing member (found by email), or for
    someone new, whose account is opened in the same step (they are emailed a link to choose a password).
    Either both the account and the order are written, or neither."""
    user = User.objects.filter(email__iexact=(email or "").strip()).first()
    if user is None:
        user = member_create(email=email, full_name=full_name, country=country, by=by)
    return order_create(
        user=user,
        membership_type=membership_type,
        provider=PaymentProvider.INVOICE,
        created_by=by,
        amount=amount,
        price_reason=price_reason,
        office=True,
        send_invoice=send_invoice,
    )


def billing_details_of(user) -> dict[str, str]:
    """The member's billing details as they are now, to freeze onto a new order."""
    return {
        "billing_name": user.billing_name or user.full_name,
        "billing_address": user.billing_address,
        "billing_institution": user.billing_institution,
        "billing_tax_id": user.billing_tax_id,
    }


def _invoice_send_if_due(*, order: Order) -> None:
    if order.provider == PaymentProvider.INVOICE and not order.awaits_approval:
        order_email_send(order=order, kind="invoice")


def order_mark_paid(
    *,
    order: Order,
    provider_reference: str | None = None,
    payment_intent: str | None = None,
    paid_at: datetime.datetime | None = None,
    by=None,
) -> Term:
    """Mark an order paid and create its one term. Safe to call any number of times, concurrently.

    The order row lock serialises callers; the second finds the order paid and returns the same term.
    The OneToOne between term and order backs this up in the database. The membership row is locked too,
    so two different orders paid at once still chain their terms without overlap.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status == OrderStatus.PAID:
            return order.term
        if order.status == OrderStatus.REFUNDED:
            raise ValidationError(MSG_REFUNDED, code="refunded", params={"number": order.number})
        membership = Membership.objects.select_for_update().get(pk=order.membership_id)
        paid_at = paid_at or timezone.now()
        paid_on = timezone.localdate(paid_at)
        start = next_term_start(last_end=last_end_of(membership), paid_on=paid_on)
        term = Term.objects.create(
            membership=membership,
            membership_type=order.membership_type,
            start=start,
            end=term_end_for(start=start, membership_type=order.membership_type, years=order.years),
            order=order,
        )
        order.status = OrderStatus.PAID
        order.paid_at = paid_at
        update_fields = ["status", "paid_at"]
        if order.needs_approval and order.approved_at is None:
            # Staff recording a payment for an unapproved application approve it by doing so.
            order.approved_at, order.approved_by = paid_at, by
            update_fields += ["approved_at", "approved_by"]
        if provider_reference:
            order.provider_reference = provider_reference
            update_fields.append("provider_reference")
        if payment_intent:
            order.payment_intent = payment_intent
            update_fields.append("payment_intent")
        order._history_user = by
        order.save(update_fields=update_fields)
        if order.provider == PaymentProvider.STRIPE and not order.payments.exists():
            Payment.objects.create(
                order=order,
                amount=order.amount,
                currency=order.currency,
                received_on=paid_on,
                method=PaymentMethod.CARD_ONLINE,
                reference=payment_intent or provider_reference or "",
                recorded_by=by,
            )
        if order.provider != PaymentProvider.COMP:
            order_email_send(order=order, kind="receipt")
        _pending_orders_cancel(membership=membership, paid=order, by=by)
    return term


def _pending_orders_cancel(*, membership: Membership, paid: Order, by) -> None:
    """One paid order per period: the membership's other pending orders (an invoice, an abandoned card
    checkout) would otherwise stay payable and add a second term. A member who was sent one of them as an
    invoice is told it is void."""
    # skip_locked: an order locked now is being paid by another order_mark_paid, which holds that order's lock
    # and waits for our membership lock; waiting for it would deadlock, and it is about to stop being pending.
    others = (
        Order.objects.select_for_update(skip_locked=True)
        .filter(membership=membership, status=OrderStatus.PENDING)
        .exclude(pk=paid.pk)
    )
    for other in others:
        other.status = OrderStatus.CANCELLED
        other._history_user = by
        other._change_reason = f"Order {paid.number} was paid"
        other.save(update_fields=["status"])
        if order_email_was_sent(order=other, kind="invoice"):
            order_email_send(order=other, kind="invoice_cancelled", paid=paid)


@transaction.atomic
def term_comp(*, membership: Membership, membership_type: MembershipType, reason: str, by) -> Term:
    """Staff grant a term without payment (honorary, hardship): an order of 0 with provider `comp` and the reason."""
    if not (reason or "").strip():
        raise ValidationError(MSG_REASON_REQUIRED, code="reason_required")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    country = str(membership.user.country or "")
    try:
        band = band_for_country(country=country)
    except ValidationError:
        band = ""  # a comp does not depend on dues; the band is only recorded when known
    order = Order(
        number=order_number_next(year=timezone.localdate().year),
        membership=membership,
        membership_type=membership_type,
        country=country,
        band=band,
        amount=0,
        currency=settings.DUES_CURRENCY,
        provider=PaymentProvider.COMP,
        note=reason.strip(),
        created_by=by,
        **billing_details_of(membership.user),
    )
    order._history_user = by
    order.save()
    return order_mark_paid(order=order, by=by)


@transaction.atomic
def order_set_reference(*, order: Order, provider_reference: str) -> Order:
    """Remember the payment provider's id for a pending order (the Stripe Checkout Session)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.provider_reference != provider_reference and order.status == OrderStatus.PENDING:
        order.provider_reference = provider_reference
        order.save(update_fields=["provider_reference"])
    return order


@transaction.atomic
def order_approve(*, order: Order, by) -> Order:
    """Staff approve an application (e.g. a student's statement); the member can then pay it."""
    order = Order.objects.select_for_update().select_related("membership__user", "membership_type").get(pk=order.pk)
    if not order.awaits_approval:
        raise ValidationError(MSG_NOT_AWAITING_APPROVAL, code="not_awaiting_approval", params={"number": order.number})
    order.approved_at = timezone.now()
    order.approved_by = by
    order._history_user = by
    order.save(update_fields=["approved_at", "approved_by"])
    # Approved: an invoice to pay by transfer, or a link to pay by card.
    order_email_send(order=order, kind="invoice" if order.provider == PaymentProvider.INVOICE else "approved")
    return order


@transaction.atomic
def order_refund(*, order: Order, reason: str, by=None) -> Order:
    """Record that a paid order's money went back: the order becomes `refunded` and its term is voided.

    The term is kept (history is never rewritten) but no longer counts: the current_end trigger, status,
    renewal dates and reminders all skip voided terms. Locks the order then the membership, in the same
    order as order_mark_paid, so a refund and a payment cannot deadlock or interleave.
    """
    if not (reason or "").strip():
        raise ValidationError(MSG_REASON_REQUIRED, code="reason_required")
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == OrderStatus.REFUNDED:
        raise ValidationError(MSG_ALREADY_REFUNDED, code="already_refunded", params={"number": order.number})
    if order.status != OrderStatus.PAID:
        raise ValidationError(
            MSG_NOT_PAID,
            code="not_paid",
            params={"number": order.number, "status": OrderStatus(order.status).label},
        )
    Membership.objects.select_for_update().filter(pk=order.membership_id).first()
    now = timezone.now()
    reason = reason.strip()
    term = Term.objects.select_for_update().filter(order=order).first()
    if term is not None and term.voided_at is None:
        term.voided_at = now
        term.void_reason = reason
        # The UPDATE fires term_sets_current_end, which recomputes the membership's end without this term.
        term.save(update_fields=["voided_at", "void_reason"])
    order.status = OrderStatus.REFUNDED
    order.refunded_at = now
    order.refund_reason = reason
    order.refunded_by = by
    order._history_user = by
    order._change_reason = reason[:100]  # history_change_reason is a CharField(100); the full text is on the order
    order.save(update_fields=["status", "refunded_at", "refund_reason", "refunded_by"])
    return order
