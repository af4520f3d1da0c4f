"""Orders (what a member owes or paid for one term), their numbers, and the payment provider's events.

Money is Decimal, never float. Orders and payments are never deleted: they are the society's financial record.
"""

import datetime
import functools
import operator
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from .accounts import User, search_words, staff_search
from .memberships import TERM_YEARS, IncomeBand, Membership, MembershipType


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


class PaymentProvider(models.TextChoices):
    STRIPE = "stripe", _("Card (Stripe)")
    INVOICE = "invoice", _("Invoice / bank transfer")
    COMP = "comp", _("Granted by staff")
    IMPORT = "import", _("Imported from the previous system")


class OrderNumberCounter(models.Model):
    """The last order number issued per year; locked row by row so numbers are gapless and sequential."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class OrderQuerySet(models.QuerySet):
    def paid(self):
        return self.filter(status=OrderStatus.PAID)

    def unpaid_invoices(self):
        """Invoices waiting for a bank transfer, which staff mark paid when it arrives."""
        return self.filter(status=OrderStatus.PENDING, provider=PaymentProvider.INVOICE)

    def stale_card_checkouts(self, now):
        """Card orders whose Checkout began over an hour ago and are still pending: their webhook may be lost.
        Stripe's sessions expire after a day, so older ones (a week, to catch up after an outage) are left."""
        return self.filter(
            status=OrderStatus.PENDING,
            provider=PaymentProvider.STRIPE,
            provider_reference__isnull=False,
            created_at__lt=now - datetime.timedelta(hours=1),
            created_at__gte=now - datetime.timedelta(days=7),
        )

    def awaiting_approval(self):
        """Applications (e.g. students') that staff must approve before the member can pay."""
        return self.filter(needs_approval=True, approved_at__isnull=True, status=OrderStatus.PENDING)

    def searched_by_staff(self, text: str):
        """Orders matching every word of a staff search: in the number (trigram index), the member's email or
        name, or the payment provider's reference (whole, as staff paste it from Stripe).

        As memberships_searched_by_staff: a word that is in no order number and no reference (one probe for
        all words together tells) is a plain condition on the joined member, which Postgres can read from the
        users' indexes or along the orders' newest-first index; only the others are a UNION of lookups."""
        words = search_words(text)
        in_orders = [word for word in words if "@" not in word]
        if in_orders:
            probe = functools.reduce(operator.or_, (_in_order(word) for word in in_orders))
            if not Order.objects.filter(probe).exists():
                in_orders = []
        aliases, condition = staff_search(
            [word for word in words if word not in in_orders], ("email", "full_name"), prefix="membership__user__"
        )
        orders = self.alias(**aliases).filter(condition)
        for word in in_orders:
            members = User.objects.matching_word(word, ("email", "full_name")).values("pk")
            by_member = Order.objects.filter(membership__user__in=members).values("pk")
            by_order = Order.objects.filter(_in_order(word)).values("pk")
            orders = orders.filter(pk__in=by_member.union(by_order))
        return orders


def may_be_in_order_number(word: str) -> bool:
    """Order numbers are a year and a count (2026-000123): a word with no digit in it, or an email address, is
    never part of one, and needs no look-up in the order numbers."""
    return "@" not in word and any(character.isdigit() for character in word)


def _in_order(word: str) -> Q:
    """`word` in an order's number, or the whole of its provider reference (both indexed)."""
    return (Q(number__icontains=word) if may_be_in_order_number(word) else Q()) | Q(provider_reference=word)


class Order(models.Model):
    """What a member owes or paid for one term. Never deleted: it is the society's financial record."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.PROTECT, related_name="orders"
    )
    membership_type = models.ForeignKey(
        MembershipType, verbose_name=_("membership type"), on_delete=models.PROTECT, related_name="orders"
    )
    country = CountryField(_("country at order time"), blank=True)
    band = models.CharField(_("income band"), max_length=20, choices=IncomeBand.choices)
    # The term length bought (a price per length in the matrix); ignored for a lifetime type.
    years = models.PositiveSmallIntegerField(_("term in years"), default=1)
    # Frozen when the order is created: later price or band changes never alter it.
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    provider = models.CharField(_("payment method"), max_length=20, choices=PaymentProvider.choices)
    provider_reference = models.CharField(_("provider reference"), max_length=255, null=True, blank=True, unique=True)
    # Stripe's refund events name the PaymentIntent, not the Checkout Session kept in provider_reference.
    payment_intent = models.CharField(_("Stripe payment intent"), max_length=255, null=True, blank=True, unique=True)
    refunded_at = models.DateTimeField(_("refunded"), null=True, blank=True)
    refund_reason = models.TextField(_("reason for refund"), blank=True)
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("refunded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True, help_text=_("For a term granted by staff: the reason."))
    # The member's billing details when the order was made, frozen like the price: an invoice once issued
    # never changes. Blanked when the member's account is erased (user_erase).
    billing_name = models.CharField(_("billing name"), max_length=200, blank=True)
    billing_address = models.TextField(_("billing address"), blank=True)
    billing_institution = models.CharField(_("institution to invoice"), max_length=255, blank=True)
    billing_tax_id = models.CharField(_("VAT or tax id"), max_length=50, blank=True)
    # Staff may charge other than the price matrix (a meeting-desk discount); the reason is required then.
    price_reason = models.TextField(_("reason for the price"), blank=True)
    # Types such as Student need staff approval before payment; frozen here like the price.
    needs_approval = models.BooleanField(_("needs approval"), default=False, editable=False)
    applicant_statement = models.TextField(_("how the member meets the eligibility"), blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    history = HistoricalRecords()

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = pgettext_lazy("purchase", "order")
        verbose_name_plural = _("orders")
        indexes = [
            # The changelist's order (newest first, the pk breaking ties) and its search by number.
            models.Index(fields=["-created_at", "-id"], name="order_newest_first"),
            GinIndex(OpClass(Upper("number"), name="gin_trgm_ops"), name="order_number_trgm"),
            # "No pending order" (members at risk): one probe of the few pending orders, not of every order.
            models.Index(
                fields=["membership"], condition=Q(status=OrderStatus.PENDING), name="order_pending_membership"
            ),
            # The dashboard's dues of the last year, read from the index alone.
            models.Index(
                fields=["paid_at"],
                include=["currency", "band", "membership_type", "amount"],
                condition=Q(status=OrderStatus.PAID),
                name="order_paid_dues",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=Decimal("0")), name="order_amount_not_negative"),
            models.CheckConstraint(condition=Q(years__gte=1, years__lte=max(TERM_YEARS)), name="order_years_offered"),
            models.CheckConstraint(
                condition=Q(status=OrderStatus.PAID, paid_at__isnull=False) | ~Q(status=OrderStatus.PAID),
                name="order_paid_has_paid_at",
            ),
            models.CheckConstraint(
                condition=~Q(provider=PaymentProvider.COMP) | ~Q(note=""), name="order_comp_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.REFUNDED) | (Q(refunded_at__isnull=False) & ~Q(refund_reason="")),
                name="order_refunded_has_reason",
            ),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("members:order", kwargs={"number": self.number})

    @property
    def due_on(self):
        """The day an invoice is due: issue date plus the society's payment terms."""
        return timezone.localdate(self.created_at) + datetime.timedelta(days=settings.INVOICE_DUE_DAYS)

    @property
    def awaits_approval(self) -> bool:
        # The row-level twin of OrderQuerySet.awaiting_approval().
        return self.needs_approval and self.approved_at is None and self.status == OrderStatus.PENDING


class StripeEvent(models.Model):
    """Each Stripe event id once: a webhook delivered ten times is processed the first time only."""

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    order = models.ForeignKey(
        Order,
        verbose_name=pgettext_lazy("purchase", "order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stripe_events",
    )

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self):
        return f"{self.event_id} ({self.type})"


class PaymentMethod(models.TextChoices):
    CARD_ONLINE = "card_online", _("Card online (Stripe)")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CHEQUE = "cheque", _("Cheque")
    CASH = "cash", _("Cash")
    CARD_TERMINAL = "card_terminal", _("Card terminal")
    OTHER = "other", _("Other")


# Methods staff record by hand; card payments online are recorded by the Stripe webhook.
OFFICE_METHODS = [choice for choice in PaymentMethod.choices if choice[0] != PaymentMethod.CARD_ONLINE]


class PaymentReview(models.TextChoices):
    NONE = "", _("Nothing to review")
    OVERPAID = "overpaid", _("More than the order's amount was received")
    ORDER_CLOSED = "order_closed", _("Received for a cancelled, failed or refunded order")


class PaymentQuerySet(models.QuerySet):
    def total(self):
        return self.aggregate(total=Sum("amount"))["total"] or Decimal("0")

    def needing_review(self):
        return self.exclude(review=PaymentReview.NONE).filter(reviewed_at__isnull=True)


class Payment(models.Model):
    """Money received for an order, as the office or the payment provider recorded it: several partial
    payments may add up to the order's amount. A payment that cannot settle its order (too much, or for an
    order that is closed) is kept and flagged for staff, never dropped."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="payments", verbose_name=pgettext_lazy("purchase", "order")
    )
    amount = models.DecimalField(_("amount received"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    received_on = models.DateField(_("date received"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=255, blank=True)
    note = models.TextField(_("note"), blank=True)
    review = models.CharField(_("to review"), max_length=20, choices=PaymentReview.choices, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["-received_on", "-recorded_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        # The changelist's order (the pk breaking ties), its first page and its date drill-down's probes, over
        # a payment per paid order.
        indexes = [models.Index(fields=["-received_on", "-recorded_at", "-id"], name="payment_newest_first")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=Decimal("0")), name="payment_amount_positive"),
        ]

    def __str__(self):
        return f"{self.order.number}: {self.amount} {self.currency} ({self.received_on})"


class CreditNoteCounter(models.Model):
    """The last credit note number issued per year, locked like OrderNumberCounter: credit notes are numbered
    in their own gapless series, as tax authorities expect of a document that cancels part of an invoice."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class RefundQuerySet(models.QuerySet):
    def total(self):
        return self.aggregate(total=Sum("amount"))["total"] or Decimal("0")


class Refund(models.Model):
    """Money the society gave back for an order, with its credit note number. Several partial refunds may add
    up to what was paid; when they do, the order is refunded and its term voided."""

    number = models.CharField(_("credit note number"), max_length=20, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order"))
    amount = models.DecimalField(_("amount refunded"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    refunded_on = models.DateField(_("date refunded"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=255, blank=True)
    # Stripe's id of the refund (re_...): the admin's refund and Stripe's charge.refunded event name the same one.
    stripe_refund = models.CharField(_("Stripe refund"), max_length=255, null=True, blank=True, unique=True)
    reason = models.TextField(_("reason for refund"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    objects = RefundQuerySet.as_manager()

    class Meta:
        ordering = ["-refunded_on", "-recorded_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=Decimal("0")), name="refund_amount_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="refund_has_reason"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("members:credit-note", kwargs={"number": self.number})
