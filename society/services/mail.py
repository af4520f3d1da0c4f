"""The email outbox, for every app: enqueue (in the caller's transaction), send (one row, locked), requeue.

Delivery is at-least-once from Celery's side (acks_late, redelivery, the sweeper) and made
exactly-once here: the send locks the row and does nothing unless it is still queued. The one
window left is a worker dying after the SMTP server accepted the message and before the row is
committed as sent; the retry then carries the same Message-ID, so clients can fold the duplicate.
"""

import logging
import random
import smtplib
from collections.abc import Iterable
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from kombu.exceptions import OperationalError as BrokerError

from society.models import OutgoingEmail, OutgoingEmailStatus

logger = logging.getLogger(__name__)

# Largest batch the sweeper queues in one run; the rest waits five minutes for the next run.
SWEEP_BATCH = 5000
# The send task (society/tasks.py), published by name: the task calls this module, so this module
# does not import the task.
SEND_TASK = "society.tasks.send_outgoing_email"


def retry_delay(attempt: int) -> timedelta:
    """Delay after the `attempt`-th failed try: base x 5^(attempt-1), +/-25% jitter so a burst of
    failures does not come back as a burst. With the default base of 2 minutes the five waits
    between six tries are about 2 min, 10 min, 50 min, 4 h and 21 h: about a day in all."""
    seconds = settings.OUTBOX_RETRY_BASE_SECONDS * 5 ** (attempt - 1)
    return timedelta(seconds=seconds * random.uniform(0.75, 1.25))


def outbox_publish(email_ids: Iterable[int]) -> bool:
    """Queue a send task per id on one broker connection. Never raises for a broker outage: the rows
    are safe in Postgres and the sweeper queues them again, so the change that caused them stands."""
    email_ids = list(email_ids)
    if not email_ids:
        return True
    try:
        with current_app.producer_or_acquire() as producer:
            for email_id in email_ids:
                current_app.send_task(SEND_TASK, args=[email_id], producer=producer, retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning("Broker unreachable, %d email(s) left for the sweeper: %s", len(email_ids), exc)
        return False
    return True


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
        "queued_at": timezone.now(),
    }
    if key is None:
        email, created = OutgoingEmail.objects.create(**fields), True
    else:
        # get_or_create wraps the insert in a savepoint, so a concurrent duplicate leaves the
        # caller's transaction usable.
        email, created = OutgoingEmail.objects.get_or_create(idempotency_key=key, defaults=fields)
    if created:
        transaction.on_commit(lambda: outbox_publish([email.pk]))
    return email


def email_enqueue_template(
    *, to: str, language: str, subject: str, template: str, context: dict, kind: str, key: str
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
    return email_enqueue(to=to, subject=subject, text=text, html=html, kind=kind, key=key, related_key=key)


def _is_permanent(exc: Exception) -> bool:
    """5xx about the recipient or the message: retrying cannot help. Everything else (4xx,
    connection refused or dropped, timeouts, even a 5xx about our own login) may heal."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _message in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return 500 <= exc.smtp_code < 600
    return False


def _build_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        headers={"Message-ID": email.message_id},
    )
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    return message


def outgoing_email_send(*, email_id: int) -> OutgoingEmailStatus | None:
    """Send one queued email, at most once. Returns the new status, or None when there was nothing
    to do (already sent or failed, locked by another worker, not due yet, deleted)."""
    with transaction.atomic():
        # The lock is held through the SMTP conversation: a duplicate task for the same row (a
        # redelivery, a sweeper requeue) skips it instead of sending in parallel.
        email = OutgoingEmail.objects.select_for_update(skip_locked=True).filter(pk=email_id).first()
        if email is None or email.status != OutgoingEmailStatus.QUEUED:
            return None
        now = timezone.now()
        if email.next_attempt_at and email.next_attempt_at > now:
            return None
        email.attempts += 1
        try:
            _build_message(email).send(fail_silently=False)
        except Exception as exc:
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            email.queued_at = None  # no task in flight any more: the sweeper owns the retry
            if _is_permanent(exc) or email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                email.status = OutgoingEmailStatus.FAILED
                email.next_attempt_at = None
                logger.warning("Email %s failed after %d attempt(s): %s", email.pk, email.attempts, email.last_error)
            else:
                email.next_attempt_at = now + retry_delay(email.attempts)
                logger.info("Email %s will be retried at %s: %s", email.pk, email.next_attempt_at, email.last_error)
        else:
            email.status = OutgoingEmailStatus.SENT
            email.sent_at = timezone.now()
            email.next_attempt_at = None
            email.last_error = ""
        email.save(update_fields=["attempts", "status", "sent_at", "last_error", "queued_at", "next_attempt_at"])
        return email.status


def outbox_requeue_due(*, now=None, limit: int = SWEEP_BATCH) -> int:
    """Queue again the rows whose task may be lost or whose retry is due. Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
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
