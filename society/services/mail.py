"""The email outbox, for every app: enqueue (in the caller's transaction), send (claim, talk SMTP, record;
in society/services/mail_delivery.py), requeue.

Delivery is at-least-once from Celery's side (acks_late, redelivery, the sweeper) and made exactly-once
here: a send first claims the row in a short transaction (status `sending`, a lease, the claimant's
name), talks to the SMTP server with no transaction open, then records the result in a new transaction,
reconnecting to the database if the connection was lost meanwhile. Only a queued row can be claimed, so
a duplicate task does nothing. The one window left is a worker dying between the server's acceptance
and the recording of it: its lease runs out, the sweeper queues the row again and the copy carries the
same Message-ID, so receiving servers and clients can fold it.

Rows go out in batches (settings.OUTBOX_BATCH_SIZE) over one SMTP connection each, each row still
claimed, sent and recorded on its own. Non-transactional kinds (settings.NON_TRANSACTIONAL_EMAIL_KINDS)
skip addresses on the suppression list (a 5xx on RCPT put them there) and recipients who opted out.
"""

import logging
from collections.abc import Iterable

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from kombu.exceptions import OperationalError as BrokerError

from society.models import OutgoingEmail, OutgoingEmailStatus
from society.services.mail_delivery import (  # noqa: F401 (the outbox's whole API, in one place)
    ATTACHMENT_MAKERS,
    OPT_OUT_CHECKS,
    _build_message,
    attachment_maker_register,
    opt_out_check_register,
    outgoing_email_send,
    outgoing_emails_send,
    retry_delay,
)

logger = logging.getLogger(__name__)

# Largest batch the sweeper queues in one run; the rest waits for the next run (every minute).
SWEEP_BATCH = 5000
# The send task (society/tasks.py), published by name: the task calls this module, so this module
# does not import the task.
SEND_TASK = "society.tasks.send_outgoing_email"
# The batch task: up to settings.OUTBOX_BATCH_SIZE rows over one SMTP connection.
SEND_BATCH_TASK = "society.tasks.send_outgoing_emails"


def outbox_publish(email_ids: Iterable[int]) -> bool:
    """Queue one batch send task per OUTBOX_BATCH_SIZE ids, on one broker connection. Never raises for a
    broker outage: the rows are safe in Postgres and the sweeper queues them again, so the change that
    caused them stands."""
    email_ids = list(email_ids)
    if not email_ids:
        return True
    published, size = 0, max(1, settings.OUTBOX_BATCH_SIZE)
    try:
        # Bounded by CELERY_TASK_PUBLISH_RETRY_POLICY and the broker's socket timeouts (settings): one
        # quick retry, never a retry loop inside a web request.
        with current_app.producer_or_acquire() as producer:
            for start in range(0, len(email_ids), size):
                batch = email_ids[start : start + size]
                current_app.send_task(SEND_BATCH_TASK, args=[batch], producer=producer)
                published += len(batch)
    except (BrokerError, OSError) as exc:
        unpublished = email_ids[published:]
        logger.warning("Broker unreachable, %d email(s) left for the sweeper: %s", len(unpublished), exc)
        _forget_queued(unpublished)
        return False
    return True


def _forget_queued(email_ids: list[int]) -> None:
    """No task is in flight for these rows: clear their "task queued" time so that the first sweep after
    the broker returns queues them, instead of waiting REQUEUE_AFTER for a task that never was."""
    try:
        OutgoingEmail.objects.filter(pk__in=email_ids, status=OutgoingEmailStatus.QUEUED).update(queued_at=None)
    except DatabaseError as exc:
        # Called after commit, possibly in a web request: the rows are safe either way (the sweeper
        # takes them after REQUEUE_AFTER), so this must not turn into an error page.
        logger.warning("Could not mark %d email(s) as unqueued: %s", len(email_ids), exc)


def email_enqueue(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    reply_to: str | None = None,
    kind: str,
    related_key: str = "",
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutgoingEmail:
    """Write an email to the outbox as part of the caller's transaction; its send task is queued
    only once that transaction commits (and never if it rolls back).

    `key` makes the call idempotent: a second call with the same key returns the first row and
    queues nothing.
    """
    fields = {
        "to": to,
        "subject": " ".join(subject.splitlines()).strip()[:255],
        "text_body": text,
        "html_body": html or "",
        "reply_to": reply_to if reply_to is not None else settings.REPLY_TO_EMAIL,
        "kind": kind,
        "related_key": related_key,
        "headers": {name: " ".join(str(value).splitlines()) for name, value in (headers or {}).items()},
        "queued_at": timezone.now(),
    }
    if key is None:
        email, created = OutgoingEmail.objects.create(**fields), True
    else:
        # get_or_create wraps the insert in a savepoint, so a concurrent duplicate leaves the
        # caller's transaction usable.
        email, created = OutgoingEmail.objects.get_or_create(idempotency_key=key, defaults=fields)
    if created:
        _publish_on_commit(email.pk)
    return email


class _PendingPublish:
    """The ids written in one transaction, published together after it commits (in batches of
    OUTBOX_BATCH_SIZE), rather than one task, and one SMTP connection, per email."""

    def __init__(self):
        self.email_ids: list[int] = []

    def __call__(self):
        outbox_publish(self.email_ids)


def _publish_on_commit(email_id: int) -> None:
    # Join the callback this transaction already registered, if any. An id whose savepoint is rolled back
    # may still be published: its task then finds no row and does nothing.
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _PendingPublish):
            callback.email_ids.append(email_id)
            return
    pending = _PendingPublish()
    pending.email_ids.append(email_id)
    transaction.on_commit(pending)


def email_enqueue_template(
    *,
    to: str,
    language: str,
    subject: str,
    template: str,
    context: dict,
    kind: str,
    key: str,
    headers: dict[str, str] | None = None,
) -> OutgoingEmail:
    """Render `subject` (lazy, `%`-formatted with `context`), `<template>.txt` and `<template>.html` in the
    recipient's `language`, whatever language the caller runs in, and write them to the outbox.

    `key` makes the email idempotent: a replayed payment notification cannot send a second receipt.
    """
    context = {"site_url": settings.SITE_URL, "SOCIETY_NAME": settings.SOCIETY_NAME, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = str(subject) % context
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    return email_enqueue(
        to=to, subject=subject, text=text, html=html, kind=kind, key=key, related_key=key, headers=headers
    )


def outbox_requeue_due(*, now=None, limit: int = SWEEP_BATCH) -> int:
    """Queue again the rows whose task may be lost, whose retry is due, or whose sending worker's lease
    ran out. Returns how many rows were queued."""
    now = now or timezone.now()
    with transaction.atomic():
        # A worker that claimed a row and never reported back may or may not have handed the message
        # to the server: sending again risks a copy (with the same Message-ID), not sending loses it.
        expired = OutgoingEmail.objects.lease_expired(now)
        lost = "Worker lost while sending (claim expired); it may have been delivered."
        expired.filter(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS).update(
            status=OutgoingEmailStatus.FAILED, lease_expires_at=None, last_error=lost
        )
        expired.update(status=OutgoingEmailStatus.QUEUED, lease_expires_at=None, queued_at=None, last_error=lost)
        ids = list(
            OutgoingEmail.objects.due_for_requeue(now)
            .order_by("created_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            OutgoingEmail.objects.filter(pk__in=ids).update(queued_at=now)
            transaction.on_commit(lambda: outbox_publish(ids))
    return len(ids)


def outgoing_email_resend(*, email_ids: Iterable[int]) -> int:
    """Give failed emails a fresh set of tries (staff action). Rows that are queued or sent are left
    alone, so re-sending never duplicates a delivered email. Returns how many were re-queued."""
    with transaction.atomic():
        ids = list(
            OutgoingEmail.objects.failed()
            .filter(pk__in=list(email_ids))
            .select_for_update()
            .values_list("pk", flat=True)
        )
        OutgoingEmail.objects.filter(pk__in=ids).update(
            status=OutgoingEmailStatus.QUEUED, attempts=0, next_attempt_at=None, queued_at=timezone.now()
        )
        if ids:
            transaction.on_commit(lambda: outbox_publish(ids))
    return len(ids)


def emails_enqueue_bulk(emails: list[OutgoingEmail]) -> list[OutgoingEmail]:
    """Write many unsaved OutgoingEmail rows with one INSERT in the caller's transaction; their send
    tasks are queued on one broker connection after commit. For batch jobs such as reminders."""
    if not emails:
        return []
    now = timezone.now()
    for email in emails:
        email.queued_at = now
        if not email.reply_to:
            email.reply_to = settings.REPLY_TO_EMAIL
    created = OutgoingEmail.objects.bulk_create(emails, batch_size=1000)
    ids = [email.pk for email in created]
    transaction.on_commit(lambda: outbox_publish(ids))
    return created


def outgoing_emails_redact(*, address: str, replacement: str) -> int:
    """For a member's erasure: blank what the outbox holds about `address` and stop anything unsent.
    The rows stay (a reminder delivery points to its email) with the replacement address. Returns how many."""
    with transaction.atomic():
        emails = OutgoingEmail.objects.filter(to__iexact=address)
        emails.filter(status=OutgoingEmailStatus.QUEUED).update(
            status=OutgoingEmailStatus.FAILED, next_attempt_at=None, last_error="Recipient erased before sending."
        )
        return emails.update(to=replacement, subject="", text_body="", html_body="")
