"""Webhooks: institutions' endpoints, registered by staff, that the portal POSTs a signed summary of each
published edition to, and the delivery rows that make those POSTs durable (the email outbox's pattern:
a row written with the publish, a claim with a lease, retries recorded in the row and swept, never a
Redis countdown)."""

import secrets
import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# A row queued this long ago without being tried is presumed lost (broker down, worker killed).
REQUEUE_AFTER = timedelta(minutes=15)
# How long a worker owns a delivery it claimed: far past the send task's hard time limit (guidelines/tasks.py),
# so only a dead worker loses its claim.
LEASE = timedelta(minutes=5)
# The URL the database accepts: http(s), and no user:password@ before the host (credentials belong in the
# signing secret, never in a URL that shows up in logs and the admin). Whether plain http is allowed is the
# validators' decision (settings.WEBHOOK_ALLOW_LOCAL_HTTP), since it depends on the deployment.
URL_PATTERN = r"^https?://[^/?#@\s]+([/?#]\S*)?$"


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(32)


class WebhookEndpointQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class WebhookEndpoint(models.Model):
    name = models.CharField(_("institution"), max_length=200)
    url = models.URLField(_("URL"), max_length=500, help_text=_("https only, without a user name or password."))
    # Generated here and shown to staff, who pass it to the institution; the receiver checks each POST with it.
    secret = models.CharField(_("signing secret"), max_length=100, default=new_secret, editable=False)
    guideline = models.ForeignKey(
        "guidelines.Guideline", verbose_name=_("guideline"), on_delete=models.PROTECT, related_name="webhooks"
    )
    provision = models.ForeignKey(
        "guidelines.Provision",
        verbose_name=_("part, section or provision"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhooks",
        help_text=_("Leave empty for the whole guideline; a part or section includes everything under it."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(url__regex=URL_PATTERN), name="webhook_endpoint_url_has_no_credentials")
        ]

    def __str__(self):
        return self.name


class WebhookDeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDeliveryQuerySet(models.QuerySet):
    def lease_expired(self, now):
        return self.filter(status=WebhookDeliveryStatus.SENDING, lease_expires_at__lte=now)

    def due_for_requeue(self, now):
        """Queued rows whose task may be lost or whose retry time has come (as OutgoingEmail.due_for_requeue)."""
        return self.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            Q(queued_at__isnull=True) | Q(queued_at__lte=now - REQUEUE_AFTER),
            status=WebhookDeliveryStatus.QUEUED,
        )


class WebhookDelivery(models.Model):
    """One edition's summary for one endpoint. The body is fixed when the row is written, so every try sends
    the same bytes under the same delivery id; only the signature's timestamp is new at each try."""

    Status = WebhookDeliveryStatus

    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.PROTECT, related_name="deliveries"
    )
    edition = models.ForeignKey(
        "guidelines.Edition", verbose_name=_("edition"), on_delete=models.PROTECT, related_name="webhook_deliveries"
    )
    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(_("event"), max_length=50)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    last_response = models.TextField(_("last response (excerpt)"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    queued_at = models.DateTimeField(_("task queued"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next try"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(_("claim expires"), null=True, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One summary per endpoint per edition, however often the publish hook runs.
            models.UniqueConstraint(fields=["endpoint", "edition"], name="webhook_delivery_once_per_edition"),
            models.CheckConstraint(condition=Q(status__in=WebhookDeliveryStatus.values), name="webhook_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=WebhookDeliveryStatus.DELIVERED) | Q(delivered_at__isnull=False),
                name="webhook_delivered_has_date",
            ),
            models.CheckConstraint(
                condition=Q(status=WebhookDeliveryStatus.SENDING, lease_expires_at__isnull=False)
                | (~Q(status=WebhookDeliveryStatus.SENDING) & Q(lease_expires_at__isnull=True)),
                name="webhook_sending_has_lease",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "queued_at"],
                condition=Q(status=WebhookDeliveryStatus.QUEUED),
                name="webhook_delivery_queued_idx",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status=WebhookDeliveryStatus.SENDING),
                name="webhook_delivery_sending_idx",
            ),
        ]

    def __str__(self):
        return f"{self.endpoint} — {self.edition_id}"
