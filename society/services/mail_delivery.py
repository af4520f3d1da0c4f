"""Delivery from the outbox (see society/services/mail.py for the whole contract): claim a batch of rows,
talk SMTP over one connection with no transaction open, record each row's result as the server answers.

Split from mail.py by what it does: mail.py writes and queues rows, this module sends them."""

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

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from society.models import OutgoingEmail, OutgoingEmailStatus, SuppressedAddress
from society.models.mail import LEASE

logger = logging.getLogger(__name__)

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
    if not emails:
        return results
    smtp, unreachable = None, None
    _durable_commits(False)
    pending = [email.pk for email in emails]
    try:
        for email in emails:
            pending.remove(email.pk)
            try:
                message = _build_message(email)
                if unreachable is not None:
                    # The server could not be reached for this batch: the rest fail the same way at once,
                    # rather than each waiting out its own connection timeout.
                    raise unreachable
                if smtp is None:
                    try:
                        smtp = get_connection(fail_silently=False)
                        smtp.open()
                    except Exception as exc:
                        smtp, unreachable = None, exc
                        raise
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
