"""The email outbox, shared by every app: each email the portal sends is first a row here, written in the
same transaction as the change that caused it, then delivered by a Celery task after commit."""

from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Upper
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext_lazy as _

# A row queued this long ago without being sent is presumed lost (Redis down, worker killed).
REQUEUE_AFTER = timedelta(minutes=15)
# How long a worker owns a row it claimed for sending. Longer than the send task's hard time limit
# (society/tasks.py) plus the retries of recording the result, so a live worker never loses its claim;
# a lease that runs out means the worker died, and the sweeper queues the row again.
LEASE = timedelta(minutes=5)


def new_message_id() -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "society.example"
    return make_msgid(domain=domain)


class OutgoingEmailStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Never sent, by choice rather than by fault: the address refused permanently before (suppression
    # list), or the member opted out of this kind of email. Only non-transactional kinds end here.
    SUPPRESSED = "suppressed", _("Suppressed")
    OPTED_OUT = "opted_out", _("Opted out")


class OutgoingEmailQuerySet(models.QuerySet):
    def queued(self):
        return self.filter(status=OutgoingEmailStatus.QUEUED)

    def failed(self):
        return self.filter(status=OutgoingEmailStatus.FAILED)

    def addressed_to(self, address: str):
        """Everything the society emailed to an address, newest first (the outbox keeps addresses, not users;
        services send to the address as the account stores it)."""
        return self.filter(to=address).order_by("-created_at", "-pk")

    def searched_by_staff(self, text: str):
        """Emails matching every word of a staff search: in the recipient or subject (trigram indexes), or the
        whole Message-ID or related key (as staff paste them from a bounce or a record)."""
        emails = self
        for bit in smart_split(text or ""):
            word = unescape_string_literal(bit) if bit[:1] in {'"', "'"} and len(bit) > 1 and bit[-1] == bit[0] else bit
            emails = emails.filter(
                Q(to__icontains=word) | Q(subject__icontains=word) | Q(message_id=word) | Q(related_key=word)
            )
        return emails

    def lease_expired(self, now):
        """Rows claimed by a worker that never reported back (killed, or cut off from the database for good)."""
        return self.filter(status=OutgoingEmailStatus.SENDING, lease_expires_at__lte=now)

    def due_for_requeue(self, now):
        """Queued rows whose send task may be lost, or whose retry time has come.

        `queued_at` is cleared when no task is in flight any more (a try failed transiently, or publishing
        the task failed), so such rows come back at the next sweep once `next_attempt_at` passes; rows with
        a task in flight wait 15 minutes. Rows being sent (`sending`) come back when their lease expires.
        """
        return self.queued().filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            Q(queued_at__isnull=True) | Q(queued_at__lte=now - REQUEUE_AFTER),
        )


class OutgoingEmail(models.Model):
    to = models.EmailField(_("recipient"), max_length=254)
    subject = models.CharField(_("subject"), max_length=255)
    text_body = models.TextField(_("text body"))
    html_body = models.TextField(_("HTML body"), blank=True)
    reply_to = models.EmailField(_("reply-to"), max_length=254, blank=True)
    # Extra headers the sender asked for, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) on
    # announcements and guideline alerts. Message-ID is never taken from here.
    headers = models.JSONField(_("extra headers"), default=dict, blank=True)
    # Set when the row is written, so every retry of the same email carries the same Message-ID and
    # a receiving server (or the member's client) can recognise a duplicate.
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True, default=new_message_id, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=OutgoingEmailStatus.choices, default=OutgoingEmailStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # What caused the email, e.g. kind="reminder" related_key="term:12/rule:3". A loose link, not a
    # foreign key, so the outbox serves every app without depending on any of them.
    kind = models.CharField(_("kind"), max_length=50)
    related_key = models.CharField(_("related to"), max_length=100, blank=True, db_index=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    queued_at = models.DateTimeField(_("task queued"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Who claimed the row for sending ("host:pid:claim"), kept after sending for the record.
    claimed_by = models.CharField(_("claimed by"), max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(_("claim expires"), null=True, blank=True)

    objects = OutgoingEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="outgoing_email_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status=OutgoingEmailStatus.SENT) | Q(sent_at__isnull=False),
                name="outgoing_email_sent_has_sent_at",
            ),
            # Exactly the rows being sent carry a lease, so the sweeper can always tell a lost send.
            models.CheckConstraint(
                condition=Q(status=OutgoingEmailStatus.SENDING, lease_expires_at__isnull=False)
                | (~Q(status=OutgoingEmailStatus.SENDING) & Q(lease_expires_at__isnull=True)),
                name="outgoing_email_sending_has_lease",
            ),
        ]
        indexes = [
            # A member's page lists their latest emails: without it, a scan of the whole outbox per page view.
            models.Index(fields=["to", "-created_at"], name="outgoing_email_to_idx"),
            # The sweeper's scan every five minutes only ever looks at queued rows.
            models.Index(
                fields=["next_attempt_at", "queued_at"],
                condition=Q(status=OutgoingEmailStatus.QUEUED),
                name="outgoing_email_queued_idx",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status=OutgoingEmailStatus.SENDING),
                name="outgoing_email_sending_idx",
            ),
            models.Index(fields=["status", "-created_at"], name="outgoing_email_status_idx"),
            # The changelist: newest first, and its search (OutgoingEmailQuerySet.searched_by_staff).
            models.Index(fields=["-created_at", "-id"], name="outgoing_email_newest_first"),
            GinIndex(OpClass(Upper("to"), name="gin_trgm_ops"), name="outgoing_email_to_trgm"),
            GinIndex(OpClass(Upper("subject"), name="gin_trgm_ops"), name="outgoing_email_subject_trgm"),
        ]

    def __str__(self):
        return f"{self.subject} → {self.to}"


class SuppressedAddressQuerySet(models.QuerySet):
    def matching(self, addresses):
        return self.filter(address__in=[address.strip().lower() for address in addresses])


class SuppressedAddress(models.Model):
    """An address that refused an email permanently (5xx on RCPT). Non-transactional mail (settings.
    NON_TRANSACTIONAL_EMAIL_KINDS) skips it: mailing a dead address again and again costs the society its
    sending reputation. Receipts and security email still try, as the member may need them."""

    # Stored lower-cased, so the uniqueness holds whatever case a later email spells it in.
    address = models.EmailField(_("address"), max_length=254, unique=True)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("suppressed since"), auto_now_add=True)
    email = models.ForeignKey(
        OutgoingEmail,
        verbose_name=_("email refused"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = SuppressedAddressQuerySet.as_manager()

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(address=Lower("address")), name="suppressed_address_lower")]

    def __str__(self):
        return self.address
