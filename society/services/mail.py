"""The email outbox, for every app: enqueue (in the caller's transaction), send (claim, talk SMTP, record),
requeue.

Delivery is at-least-once from Celery's side (acks_late, redelivery, the sweeper) and made exactly-once
here: a send first claims the row in a short transaction (status `sending`, a lease, the claimant's
name), talks to the SMTP server with no transaction open, then records the result in a new transaction,
reconnecting to the database if the connection was lost meanwhile. Only a queued row can be claimed, so
a duplicate task does nothing. The one window left is a worker dying between the server's acceptance
and the recording of it: its lease runs out, the sweeper queues the row again and the copy carries the
same Message-ID, so receiving servers and clients can fold it.
"""

import logging
import os
import random
import smtplib
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from kombu.exceptions import OperationalError as BrokerError

from society.models import OutgoingEmail, OutgoingEmailStatus, SuppressedAddress
from society.models.mail import LEASE

logger = logging.getLogger(__name__)

# Largest batch the sweeper queues in one run; the rest waits for the next run (every minute).
SWEEP_BATCH = 5000
# The send task (society/tasks.py), published by name: the task calls this module, so this module
# does not import the task.
SEND_TASK = "society.tasks.send_outgoing_email"
# The batch task: up to settings.OUTBOX_BATCH_SIZE rows over one SMTP connection.
SEND_BATCH_TASK = "society.tasks.send_outgoing_emails"
# Tries of one short write (claim or result) when the database connection drops: about 3 s of waits
# in all, enough for a terminated connection or a failover, far inside the lease.
WRITE_TRIES = 5
WRITE_FIRST_WAIT = 0.2
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


def retry_delay(attempt: int) -> timedelta:
    """Delay after the `attempt`-th failed try: base x 5^(attempt-1), +/-25% jitter so a burst of
    failures does not come back as a burst. With the default base of 2 minutes the five waits
    between six tries are about 2 min, 10 min, 50 min, 4 h and 21 h: about a day in all."""
    seconds = settings.OUTBOX_RETRY_BASE_SECONDS * 5 ** (attempt - 1)
    return timedelta(seconds=seconds * random.uniform(0.75, 1.25))


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


def _is_permanent(exc: Exception) -> bool:
    """5xx about the recipient or the message: retrying cannot help. Everything else (4xx,
    connection refused or dropped, timeouts, even a 5xx about our own login) may heal."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _message in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return 500 <= exc.smtp_code < 600
    return False


# Attachments made when an email is sent, by kind: apps register a function of the outbox row returning
# (filename, content, mimetype). The row keeps only its related_key, so a PDF never bloats the outbox; and
# society, which other apps import, never imports them.
ATTACHMENT_MAKERS: dict[str, Callable[[OutgoingEmail], tuple[str, bytes, str] | None]] = {}


def attachment_maker_register(*, kinds: Iterable[str], maker: Callable) -> None:
    for kind in kinds:
        ATTACHMENT_MAKERS[kind] = maker


def _build_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        headers={**(email.headers or {}), "Message-ID": email.message_id},
    )
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    maker = ATTACHMENT_MAKERS.get(email.kind)
    if maker is not None and email.related_key:
        try:
            attachment = maker(email)
        except Exception:
            # The receipt itself matters more than its PDF copy, which the member can download from the page.
            logger.exception("Could not make the attachment of email %s; sending it without", email.pk)
            attachment = None
        if attachment is not None:
            message.attach(*attachment)
    return message


def _write_with_reconnect(write: Callable[[], object], *, single_statement: bool = False) -> object:
    """Run `write` in a short transaction; if the database connection is lost, close it and try again
    on a fresh one. An SMTP conversation can outlast a connection (a restart, a failover, a terminated
    backend), and losing the record that a message went out means sending it twice.

    A `single_statement` write runs in autocommit, its own transaction: one round trip instead of three,
    paid once per message sent."""
    for attempt in range(1, WRITE_TRIES):
        try:
            if single_statement and not connection.in_atomic_block:
                return write()
            with transaction.atomic():
                return write()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block:
                raise  # inside a caller's transaction there is nothing to reconnect
            logger.warning("Database connection lost (try %d of %d), reconnecting: %s", attempt, WRITE_TRIES, exc)
            connection.close()
            time.sleep(WRITE_FIRST_WAIT * 2 ** (attempt - 1))
    with transaction.atomic():
        return write()


# Non-transactional kinds a member may opt out of, by kind: apps register a function of a list of
# claimed rows returning the ids whose recipient declined. Asked at send time, not only when the rows
# were written, so an opt-out stops the very next message; society never imports the apps that register.
OPT_OUT_CHECKS: dict[str, Callable[[list[OutgoingEmail]], set[int]]] = {}


def opt_out_check_register(*, kinds: Iterable[str], check: Callable[[list[OutgoingEmail]], set[int]]) -> None:
    for kind in kinds:
        OPT_OUT_CHECKS[kind] = check


def _unwanted(emails: list[OutgoingEmail]) -> dict[int, OutgoingEmailStatus]:
    """Which of these rows must not go out, and why: suppressed address or opted-out recipient. Only
    non-transactional kinds are ever skipped. A fixed number of queries, whatever the batch size."""
    optional = [email for email in emails if email.kind in settings.NON_TRANSACTIONAL_EMAIL_KINDS]
    if not optional:
        return {}
    skipped = {}
    by_kind: dict[str, list[OutgoingEmail]] = {}
    for email in optional:
        by_kind.setdefault(email.kind, []).append(email)
    for kind, rows in by_kind.items():
        check = OPT_OUT_CHECKS.get(kind)
        if check is not None:
            skipped.update(dict.fromkeys(check(rows), OutgoingEmailStatus.OPTED_OUT))
    suppressed = set(
        SuppressedAddress.objects.matching(email.to for email in optional).values_list("address", flat=True)
    )
    for email in optional:
        if email.to.strip().lower() in suppressed:
            skipped.setdefault(email.pk, OutgoingEmailStatus.SUPPRESSED)
    return skipped


def _claim(*, email_ids: list[int], claim: str) -> tuple[list[OutgoingEmail], dict[int, OutgoingEmailStatus]]:
    """Claim the sendable rows among `email_ids` (status `sending`, a lease) and settle at once the ones
    that must not go out (returned with their new status). Rows another worker holds are skipped, not
    waited for."""
    now = timezone.now()
    rows = list(
        OutgoingEmail.objects.select_for_update(skip_locked=True)
        .filter(pk__in=email_ids)
        .filter(
            Q(status=OutgoingEmailStatus.QUEUED, next_attempt_at__isnull=True)
            | Q(status=OutgoingEmailStatus.QUEUED, next_attempt_at__lte=now)
            # our own claim, committed although the reply to COMMIT was lost
            | Q(status=OutgoingEmailStatus.SENDING, claimed_by=claim)
        )
        .order_by("pk")
    )
    fresh = [email for email in rows if email.status == OutgoingEmailStatus.QUEUED]
    skipped = _unwanted(fresh)
    for status in set(skipped.values()):
        OutgoingEmail.objects.filter(pk__in=[pk for pk, why in skipped.items() if why == status]).update(
            status=status, queued_at=None, next_attempt_at=None
        )
    to_send = [email.pk for email in fresh if email.pk not in skipped]
    OutgoingEmail.objects.filter(pk__in=to_send).update(
        status=OutgoingEmailStatus.SENDING,
        attempts=F("attempts") + 1,
        claimed_by=claim,
        lease_expires_at=now + LEASE,
        queued_at=None,  # the task is running: no task is in flight any more
    )
    for email in fresh:
        if email.pk in skipped:
            email.status = skipped[email.pk]
        else:
            email.status, email.attempts, email.claimed_by = OutgoingEmailStatus.SENDING, email.attempts + 1, claim
            email.lease_expires_at, email.queued_at = now + LEASE, None
    return [email for email in rows if email.status == OutgoingEmailStatus.SENDING], skipped


def _record_sent(*, email_id: int) -> int:
    # Queued too: if this worker was so slow that its lease ran out and the sweeper re-queued the row,
    # the message has still gone out, and saying so now stops the second copy.
    return OutgoingEmail.objects.filter(
        pk=email_id, status__in=[OutgoingEmailStatus.SENDING, OutgoingEmailStatus.QUEUED]
    ).update(
        status=OutgoingEmailStatus.SENT,
        sent_at=timezone.now(),
        lease_expires_at=None,
        next_attempt_at=None,
        last_error="",
    )


def _refused_permanently_at_rcpt(exc: Exception) -> bool:
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and _is_permanent(exc)


def _record_failure(*, email: OutgoingEmail, claim: str, exc: Exception) -> OutgoingEmailStatus | None:
    last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if _is_permanent(exc) or email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        status, next_attempt_at = OutgoingEmailStatus.FAILED, None
        logger.warning("Email %s failed after %d attempt(s): %s", email.pk, email.attempts, last_error)
    else:
        # The sweeper owns the retry (queued_at stays empty: no task is in flight).
        status, next_attempt_at = OutgoingEmailStatus.QUEUED, timezone.now() + retry_delay(email.attempts)
        logger.info("Email %s will be retried at %s: %s", email.pk, next_attempt_at, last_error)
    updated = OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmailStatus.SENDING, claimed_by=claim).update(
        status=status, next_attempt_at=next_attempt_at, last_error=last_error, lease_expires_at=None
    )
    if updated and _refused_permanently_at_rcpt(exc):
        SuppressedAddress.objects.get_or_create(
            address=email.to.strip().lower(), defaults={"reason": last_error, "email_id": email.pk}
        )
    return status if updated else None


def _release(*, email_ids: list[int], claim: str) -> int:
    """Give back rows claimed but never tried (the task ran out of time): queued again for the sweeper,
    the claim's attempt not counted."""
    return OutgoingEmail.objects.filter(pk__in=email_ids, status=OutgoingEmailStatus.SENDING, claimed_by=claim).update(
        status=OutgoingEmailStatus.QUEUED, attempts=F("attempts") - 1, lease_expires_at=None, queued_at=None
    )


def _durable_commits(durable: bool) -> None:
    """Whether this connection's commits wait for the WAL flush. Off while a batch records its results:
    one record per message, and the fsync cost more than the SMTP conversation itself. It risks only a
    Postgres crash in the last fraction of a second, which loses a record and (after the lease) sends a
    copy with the same Message-ID: the window the module docstring already accepts for a dying worker.
    A reconnection starts a session with the default again, which is only slower."""
    if connection.in_atomic_block:
        return  # a caller's transaction (tests, the shell): leave its session alone
    try:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit" if durable else "SET synchronous_commit TO OFF")
    except (OperationalError, InterfaceError) as exc:
        logger.info("Could not set synchronous_commit on this connection: %s", exc)
        connection.close()


# Errors after which the SMTP session is still usable: smtplib sent RSET, the next message may follow.
SESSION_SURVIVES = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def _close_quietly(smtp) -> None:
    try:
        smtp.close()
    except Exception as exc:  # a dropped connection cannot even say goodbye; the next one is fresh
        logger.info("Closing the SMTP connection failed: %s", exc)


def outgoing_emails_send(*, email_ids: Iterable[int]) -> dict[int, OutgoingEmailStatus | None]:
    """Send a batch of queued emails over one SMTP connection, each at most once. Returns the new status
    per row acted on (rows already sent, failed, claimed elsewhere or not due are left out).

    The batch is claimed in one short transaction; no transaction is open during the SMTP conversation;
    each row's result is recorded as soon as the server answers for it, so a worker that dies mid-batch
    leaves only the row in flight unrecorded (see the module docstring). A dropped connection fails the
    row in flight (retried later, like any transient failure) and the next row opens a new one."""
    claim = f"{WORKER_NAME}:{uuid.uuid4().hex[:8]}"
    emails, skipped = _write_with_reconnect(partial(_claim, email_ids=list(email_ids), claim=claim))
    results: dict[int, OutgoingEmailStatus | None] = dict(skipped)
    smtp = None
    _durable_commits(False)
    pending = [email.pk for email in emails]
    try:
        for email in emails:
            pending.remove(email.pk)
            try:
                message = _build_message(email)
                if smtp is None:
                    smtp = get_connection(fail_silently=False)
                    smtp.open()
                message.connection = smtp
                message.send(fail_silently=False)
            except Exception as exc:
                results[email.pk] = _write_with_reconnect(partial(_record_failure, email=email, claim=claim, exc=exc))
                if isinstance(exc, SoftTimeLimitExceeded):
                    break
                if smtp is not None and not isinstance(exc, SESSION_SURVIVES):
                    _close_quietly(smtp)
                    smtp = None
                continue
            _write_with_reconnect(partial(_record_sent, email_id=email.pk), single_statement=True)
            results[email.pk] = OutgoingEmailStatus.SENT
    finally:
        if smtp is not None:
            _close_quietly(smtp)
        _durable_commits(True)
        if pending:
            _write_with_reconnect(partial(_release, email_ids=pending, claim=claim))
    return results


def outgoing_email_send(*, email_id: int) -> OutgoingEmailStatus | None:
    """Send one queued email, at most once: a batch of one. Returns the new status, or None when there
    was nothing to do (already sent, failed or being sent by another worker, not due yet, deleted)."""
    return outgoing_emails_send(email_ids=[email_id]).get(email_id)


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
