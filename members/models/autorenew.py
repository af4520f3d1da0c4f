"""Auto-renew: a saved card (Stripe's ids and what the member needs to recognise it, nothing more), the
notices that must precede every charge, and one row per charge attempt."""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from society.models import OutgoingEmail

from .memberships import IncomeBand, Membership, MembershipType, Term
from .payments import Order


class AutoRenewSettings(models.Model):
    """Staff-editable schedule of automatic renewals; one row (pk 1)."""

    charge_days_before_end = models.PositiveSmallIntegerField(
        _("renewal charge days before end"),
        default=7,
        help_text=_("The card is charged this many days before the membership ends (at the earliest)."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("auto-renew settings")
        verbose_name_plural = _("auto-renew settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="autorenewsettings_single_row"),
            # Within the renewal window, and leaving room for three retries before the end.
            models.CheckConstraint(
                condition=Q(charge_days_before_end__gte=1, charge_days_before_end__lte=60),
                name="autorenewsettings_charge_days_range",
            ),
        ]

    def __str__(self):
        return str(self._meta.verbose_name)

    @classmethod
    def current(cls) -> "AutoRenewSettings":
        return cls.objects.get_or_create(pk=1)[0]


class AutoRenewQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)


class AutoRenew(models.Model):
    """A member's choice to renew automatically, and the card Stripe keeps for it."""

    membership = models.OneToOneField(
        Membership, verbose_name=_("membership"), on_delete=models.PROTECT, related_name="auto_renew"
    )
    enabled = models.BooleanField(_("renew automatically"), default=False)
    stripe_customer = models.CharField(_("Stripe customer"), max_length=255, blank=True)
    payment_method = models.CharField(_("Stripe payment method"), max_length=255, blank=True)
    card_brand = models.CharField(_("card brand"), max_length=30, blank=True)
    card_last4 = models.CharField(_("card last 4 digits"), max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(_("card expiry month"), null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(_("card expiry year"), null=True, blank=True)
    # Why auto-renew stopped by itself (failed retries), shown to the member; empty while it runs.
    stopped_reason = models.CharField(_("why it stopped"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    objects = AutoRenewQuerySet.as_manager()

    class Meta:
        verbose_name = _("auto-renew")
        verbose_name_plural = _("auto-renewals")
        constraints = [
            # Never on without a card to charge.
            models.CheckConstraint(
                condition=Q(enabled=False) | (~Q(stripe_customer="") & ~Q(payment_method="")),
                name="autorenew_enabled_has_card",
            ),
            models.CheckConstraint(
                condition=Q(card_last4="") | Q(card_last4__regex=r"^[0-9]{4}$"), name="autorenew_last4_digits"
            ),
            models.CheckConstraint(
                condition=Q(card_exp_month__isnull=True) | Q(card_exp_month__gte=1, card_exp_month__lte=12),
                name="autorenew_exp_month_valid",
            ),
        ]

    def __str__(self):
        return f"{self.membership}: {'on' if self.enabled else 'off'}"

    @property
    def has_card(self) -> bool:
        return bool(self.payment_method)


class RenewalNotice(models.Model):
    """What a member was told before a charge: the charge may only be this amount, band and type, no
    earlier than 14 days after it was sent."""

    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.PROTECT, related_name="renewal_notices"
    )
    term = models.ForeignKey(Term, verbose_name=_("term renewed"), on_delete=models.PROTECT, related_name="+")
    membership_type = models.ForeignKey(
        MembershipType, verbose_name=_("membership type"), on_delete=models.PROTECT, related_name="+"
    )
    band = models.CharField(_("income band"), max_length=20, choices=IncomeBand.choices)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    sent_on = models.DateField(_("sent on"))
    charge_on = models.DateField(_("charge on"))
    email = models.OneToOneField(OutgoingEmail, verbose_name=_("email"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("renewal notice")
        verbose_name_plural = _("renewal notices")
        constraints = [
            # The job sends a term's notice when none matches today's price: at most one a day, even if the
            # price changes back and forth.
            models.UniqueConstraint(fields=["term", "sent_on"], name="renewalnotice_once_per_term_day"),
            models.CheckConstraint(condition=Q(amount__gte=Decimal("0")), name="renewalnotice_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(charge_on__gte=F("sent_on") + 14), name="renewalnotice_fourteen_days_ahead"
            ),
        ]

    def __str__(self):
        return f"{self.membership}: {self.amount} {self.currency} on {self.charge_on}"


class ChargeStatus(models.TextChoices):
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Declined")
    REQUIRES_ACTION = "requires_action", _("Needs the member's confirmation")


# One first try and at most three retries, on these days after the first try (within 7 days).
RETRY_DAYS = (2, 4, 7)
MAX_ATTEMPTS = 1 + len(RETRY_DAYS)


class RenewalCharge(models.Model):
    """One attempt to charge the saved card for the term after `term`. Claimed (processing, with a lease) in
    one transaction, charged with no transaction open, its result recorded in another."""

    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.PROTECT, related_name="renewal_charges"
    )
    term = models.ForeignKey(Term, verbose_name=_("term renewed"), on_delete=models.PROTECT, related_name="+")
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="renewal_charges")
    status = models.CharField(_("status"), max_length=20, choices=ChargeStatus.choices, default=ChargeStatus.PROCESSING)
    payment_intent = models.CharField(_("Stripe payment intent"), max_length=255, blank=True)
    decline_code = models.CharField(_("reason declined"), max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires"), null=True, blank=True)
    attempted_on = models.DateField(_("attempted on"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["term", "attempt"]
        verbose_name = _("renewal charge")
        verbose_name_plural = _("renewal charges")
        constraints = [
            models.UniqueConstraint(fields=["term", "attempt"], name="renewalcharge_once_per_term_attempt"),
            models.CheckConstraint(
                condition=Q(attempt__gte=1, attempt__lte=MAX_ATTEMPTS), name="renewalcharge_bounded_attempts"
            ),
            # At most one charge per renewed term ever succeeds.
            models.UniqueConstraint(
                fields=["term"], condition=Q(status="succeeded"), name="renewalcharge_one_success_per_term"
            ),
        ]

    def __str__(self):
        return f"{self.membership} #{self.attempt}: {self.status}"
