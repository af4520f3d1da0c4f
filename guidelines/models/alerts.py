"""Guideline alerts: who follows what (a whole guideline, or a provision with everything under it), and the
record that an edition's alerts went out."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class AlertSubscriptionStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting confirmation")
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")


LIVE_STATUSES = [AlertSubscriptionStatus.PENDING, AlertSubscriptionStatus.ACTIVE]


class AlertSubscriptionQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=AlertSubscriptionStatus.ACTIVE)

    def live(self):
        """Pending or active: what a new request for the same target finds instead of adding a row."""
        return self.filter(status__in=LIVE_STATUSES)

    def of_address(self, email: str):
        return self.filter(email=email.strip().lower())

    def of_member(self, user, verified_email: str | None):
        """Made while signed in, or (given only a verified address) followed with the member's address."""
        mine = Q(user=user)
        if verified_email:
            mine |= Q(email=verified_email.strip().lower())
        return self.filter(mine)


class AlertSubscription(models.Model):
    """One address following one target. A row is never deleted when cancelled, so that a signed link for it
    stays spent: following the same target again makes a new row, which an old link cannot reach."""

    Status = AlertSubscriptionStatus

    email = models.EmailField(_("email address"), max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_subscriptions",
    )
    guideline = models.ForeignKey(
        "guidelines.Guideline", verbose_name=_("guideline"), on_delete=models.CASCADE, related_name="subscriptions"
    )
    # Empty: the whole guideline. Otherwise the provision and everything under it in the parent tree.
    provision = models.ForeignKey(
        "guidelines.Provision",
        verbose_name=_("provision"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    objects = AlertSubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["email", "pk"]
        verbose_name = _("alert subscription")
        verbose_name_plural = _("alert subscriptions")
        constraints = [
            # NULLS NOT DISTINCT: two whole-guideline rows (provision empty) for one address collide too.
            models.UniqueConstraint(
                fields=["email", "guideline", "provision"],
                condition=Q(status__in=LIVE_STATUSES),
                nulls_distinct=False,
                name="alert_subscription_one_live_per_target",
            ),
            models.CheckConstraint(
                condition=Q(status__in=AlertSubscriptionStatus.values), name="alert_subscription_status_valid"
            ),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="alert_subscription_email_lowercase"),
            models.CheckConstraint(
                condition=~Q(status=AlertSubscriptionStatus.ACTIVE) | Q(confirmed_at__isnull=False),
                name="alert_subscription_active_is_confirmed",
            ),
            models.CheckConstraint(
                condition=~Q(status=AlertSubscriptionStatus.CANCELLED) | Q(cancelled_at__isnull=False),
                name="alert_subscription_cancelled_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["guideline", "status", "email"], name="alert_subscription_fanout"),
            models.Index(fields=["email", "status"], name="alert_subscription_address"),
        ]

    def __str__(self):
        return f"{self.email} → {self.provision or self.guideline}"


class AlertRun(models.Model):
    """The alerts of one published edition: written in the publishing transaction, so a task lost on the way
    to the broker is found again by the sweep, and finished once every email is in the outbox."""

    edition = models.OneToOneField(
        "guidelines.Edition", verbose_name=_("edition"), on_delete=models.CASCADE, related_name="alert_run"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Held by the task fanning out (and renewed per batch), so that the sweep does not start a second one
    # beside a long run; when the worker dies, it runs out and the sweep queues the run again.
    lease_expires_at = models.DateTimeField(_("claim expires"), null=True, blank=True)
    emails_queued = models.PositiveIntegerField(_("emails queued"), default=0)

    class Meta:
        verbose_name = _("alert run")
        verbose_name_plural = _("alert runs")

    def __str__(self):
        return str(self.edition)
