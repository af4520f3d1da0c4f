"""Webhooks: a signed JSON summary of each published edition, POSTed to the institutions that registered an
endpoint for it, through a durable outbox (the email outbox's shape, see society/services/mail.py).

- Enqueue: the delivery rows are written in the publish's own transaction (one per matching endpoint, unique
  per endpoint and edition), and their tasks are queued after commit.
- Send: claim the row in a short transaction (status `sending`, a lease), POST with no transaction open (short
  timeouts, redirects not followed), record the result in a new transaction.
- Retry: network errors, 5xx, 408 and 429 are retried with exponential backoff up to WEBHOOK_MAX_ATTEMPTS;
  any other answer outside 2xx (a 4xx, or a redirect, which is never followed) means the receiver refused
  the request as it stands, usually a wrong secret or URL that staff fix within hours, so it is retried on
  the same schedule but only up to WEBHOOK_MAX_REFUSED_ATTEMPTS. The sweeper (a beat task) queues due retries
  and rows whose worker died; never a Redis countdown.

Receivers check `Society-Signature: t=<unix time>,v1=<hex>`: HMAC-SHA256 with the endpoint's secret over
`<t>.<body>` (the README has the recipe), and fold repeats by the `Society-Delivery` id.
"""

import hashlib
import hmac
import http.client
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerError

from guidelines.changes import EditionChanges, absolute, compare_url, edition_changes, previous_original, provision_url
from guidelines.models import Edition, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from guidelines.models.webhooks import LEASE

logger = logging.getLogger(__name__)

SEND_TASK = "guidelines.tasks.send_webhook_delivery"
EVENT_EDITION_PUBLISHED = "edition.published"
SIGNATURE_HEADER = "Society-Signature"
DELIVERY_HEADER = "Society-Delivery"
EVENT_HEADER = "Society-Event"
# What the delivery log keeps of a receiver's answer.
RESPONSE_EXCERPT = 1000
SWEEP_BATCH = 1000
# The longest wait a receiver's Retry-After may impose on one retry.
MAX_RETRY_AFTER = 24 * 60 * 60
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"

URL_NOT_HTTPS = _("The URL must start with https://.")
URL_HAS_CREDENTIALS = _("The URL must not contain a user name or password; the signing secret authenticates us.")
URL_INVALID = _("Enter a valid URL with a host name.")
SCOPE_OTHER_GUIDELINE = _("The part, section or provision must belong to the chosen guideline.")


def webhook_url_validate(url: str) -> None:
    """https only (plain http to this machine only where settings.WEBHOOK_ALLOW_LOCAL_HTTP says so, as in
    tests), with no user:password@: raises a ValidationError saying which."""
    parts = urlsplit(url or "")
    if not parts.hostname:
        raise ValidationError(URL_INVALID, code="invalid")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(URL_HAS_CREDENTIALS, code="credentials")
    local_http = settings.WEBHOOK_ALLOW_LOCAL_HTTP and parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
    if parts.scheme != "https" and not local_http:
        raise ValidationError(URL_NOT_HTTPS, code="https")


def webhook_endpoint_validate(*, endpoint: WebhookEndpoint) -> None:
    errors = {}
    try:
        webhook_url_validate(endpoint.url)
    except ValidationError as error:
        errors["url"] = error.messages
    if endpoint.provision_id and endpoint.guideline_id and endpoint.provision.guideline_id != endpoint.guideline_id:
        errors["provision"] = [str(SCOPE_OTHER_GUIDELINE)]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def webhook_endpoint_save(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    webhook_endpoint_validate(endpoint=endpoint)
    endpoint.save()
    return endpoint


# --- The summary -----------------------------------------------------------------------------------------


def _provision_summary(change, found: EditionChanges, guideline_slug: str) -> dict:
    old, new = change.old, change.new
    pinned = provision_url(guideline_slug, found.edition if new else found.previous, change.provision)
    return {
        "uid": change.provision.uid,
        "slug": change.provision.slug,
        "change": change.status,
        "number": new.number if new else None,
        "previous_number": old.number if old else None,
        "heading": (new or old).heading,
        "renumbered": change.renumbered,
        "moved": change.moved,
        "url": pinned,
        "compare_url": compare_url(guideline_slug, found.previous, found.edition, change.provision if new else None),
    }


def webhook_body(
    *, endpoint: WebhookEndpoint, found: EditionChanges, delivery_id: uuid.UUID, summaries: dict | None = None
) -> str | None:
    """The JSON summary for one endpoint, or None when nothing in its scope changed. `summaries` (provision id
    -> its entry) lets many endpoints share the entries, built once per publish."""
    changes = found.within(endpoint.provision_id)
    if not changes:
        return None
    guideline_slug = found.edition.guideline.slug
    if summaries is None:
        summaries = {change.provision.pk: _provision_summary(change, found, guideline_slug) for change in changes}
    edition, previous, guideline = found.edition, found.previous, found.edition.guideline
    summary = {
        "event": EVENT_EDITION_PUBLISHED,
        "delivery_id": str(delivery_id),
        "scope": {
            "guideline": guideline.slug,
            "provision": endpoint.provision.uid if endpoint.provision_id else None,
        },
        "edition": {
            "guideline": {
                "slug": guideline.slug,
                "title": guideline.title,
                "url": absolute(guideline.get_absolute_url()),
            },
            "slug": edition.slug,
            "label": edition.label,
            "kind": edition.kind,
            "correction": edition.kind == Edition.Kind.CORRECTION,
            "published_on": edition.published_on.isoformat(),
            "language": edition.language,
            "url": absolute(edition.get_absolute_url()),
            "previous": previous.slug if previous else None,
            "compare_url": compare_url(guideline.slug, previous, edition),
        },
        "provisions": [summaries[change.provision.pk] for change in changes],
    }
    return json.dumps(summary, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def webhook_deliveries_enqueue(*, edition: Edition) -> list[WebhookDelivery]:
    """Write one delivery per active endpoint whose scope changed in `edition`, in the caller's transaction
    (edition_publish's), and queue their tasks after commit. Translations carry no change of their own and
    send nothing. Idempotent: a second call for the same edition writes nothing."""
    if edition.translation_of_id:
        return []
    endpoints = list(
        WebhookEndpoint.objects.active().filter(guideline_id=edition.guideline_id).select_related("provision")
    )
    if not endpoints:
        return []
    found = edition_changes(edition=edition, previous=previous_original(edition))
    slug = edition.guideline.slug
    summaries = {change.provision.pk: _provision_summary(change, found, slug) for change in found.changes}
    rows = []
    for endpoint in endpoints:
        delivery_id = uuid.uuid4()
        body = webhook_body(endpoint=endpoint, found=found, delivery_id=delivery_id, summaries=summaries)
        if body is not None:
            rows.append(
                WebhookDelivery(
                    endpoint=endpoint,
                    edition=edition,
                    delivery_id=delivery_id,
                    event=EVENT_EDITION_PUBLISHED,
                    body=body,
                    queued_at=timezone.now(),
                )
            )
    # A row that already exists for an endpoint and this edition stays as it is (the unique constraint).
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    created = list(WebhookDelivery.objects.filter(delivery_id__in=[row.delivery_id for row in rows]))
    ids = [row.pk for row in created]
    if ids:
        transaction.on_commit(lambda: webhooks_publish(ids))
    return created


def webhooks_publish(delivery_ids: Iterable[int]) -> bool:
    """Queue a send task per id on one broker connection; a broker outage leaves the rows to the sweeper."""
    delivery_ids = list(delivery_ids)
    published = 0
    try:
        with current_app.producer_or_acquire() as producer:
            for delivery_id in delivery_ids:
                current_app.send_task(SEND_TASK, args=[delivery_id], producer=producer)
                published += 1
    except (BrokerError, OSError) as exc:
        unpublished = delivery_ids[published:]
        logger.warning("Broker unreachable, %d webhook(s) left for the sweeper: %s", len(unpublished), exc)
        try:
            WebhookDelivery.objects.filter(pk__in=unpublished, status=WebhookDeliveryStatus.QUEUED).update(
                queued_at=None
            )
        except DatabaseError as db_exc:
            logger.warning("Could not mark %d webhook(s) as unqueued: %s", len(unpublished), db_exc)
        return False
    return True


# --- Sending ---------------------------------------------------------------------------------------------


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def retry_delay(attempt: int) -> timedelta:
    """Delay after the `attempt`-th failed try: base x 4^(attempt-1) with +/-25% jitter. With the default base
    of one minute the waits are about 1, 4, 16, 64 minutes, 4 h, 17 h, 2.8 days for eight tries."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 4 ** (attempt - 1)
    return timedelta(seconds=seconds * random.uniform(0.75, 1.25))


def is_retryable(status_code: int | None) -> bool:
    """None is a network error (refused, reset, timed out): the receiver may come back."""
    return status_code is None or status_code >= 500 or status_code in (408, 429)


def _claim(*, delivery_id: int, claim: str) -> WebhookDelivery | None:
    with transaction.atomic():
        row = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        now = timezone.now()
        if (
            row is None
            or row.status != WebhookDeliveryStatus.QUEUED
            or (row.next_attempt_at and row.next_attempt_at > now)
        ):
            return None
        row.status = WebhookDeliveryStatus.SENDING
        row.attempts += 1
        row.claimed_by = claim
        row.lease_expires_at = now + LEASE
        row.queued_at = None
        row.save(update_fields=["status", "attempts", "claimed_by", "lease_expires_at", "queued_at"])
        return row


@dataclass
class Answer:
    """What one try got: the receiver's status code (None when no HTTP answer came), the start of its body,
    an error for the log, and how long a 429 or 503 asked us to wait."""

    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    retry_after: int | None = None
    refused_unsent: bool = False  # refused before sending (a URL the settings no longer allow)

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        return not self.refused_unsent and is_retryable(self.status_code)


def _retry_after(value: str | None) -> int | None:
    # Seconds only; the HTTP-date form is rare from webhook receivers and our own backoff covers it.
    return int(value) if value and value.strip().isdigit() else None


def _post(row: WebhookDelivery) -> Answer:
    """One POST. No redirect is followed: http.client never does."""
    webhook_url_validate(row.endpoint.url)  # refused here too, should a row predate a stricter setting
    parts = urlsplit(row.endpoint.url)
    body = row.body.encode()
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"{settings.SOCIETY_SHORT_NAME}-webhooks/1",
        SIGNATURE_HEADER: webhook_signature(secret=row.endpoint.secret, timestamp=int(time.time()), body=body),
        DELIVERY_HEADER: str(row.delivery_id),
        EVENT_HEADER: row.event,
    }
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT).decode("utf-8", errors="replace")
        return Answer(
            status_code=response.status,
            excerpt=excerpt.replace("\x00", ""),  # Postgres text cannot hold NUL
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )
    finally:
        connection.close()


def _record(*, row: WebhookDelivery, claim: str, answer: Answer) -> str | None:
    now = timezone.now()
    fields = {"last_status_code": answer.status_code, "last_response": answer.excerpt, "lease_expires_at": None}
    if answer.delivered:
        fields.update(status=WebhookDeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None, last_error="")
    else:
        limit = settings.WEBHOOK_MAX_ATTEMPTS if answer.retryable else settings.WEBHOOK_MAX_REFUSED_ATTEMPTS
        if row.attempts >= limit:
            fields.update(status=WebhookDeliveryStatus.FAILED, next_attempt_at=None)
        else:
            wait = retry_delay(row.attempts)
            if answer.retry_after:
                wait = max(wait, timedelta(seconds=min(answer.retry_after, MAX_RETRY_AFTER)))
            fields.update(status=WebhookDeliveryStatus.QUEUED, next_attempt_at=now + wait)
        fields["last_error"] = answer.error or f"HTTP {answer.status_code}"
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(
            pk=row.pk, status=WebhookDeliveryStatus.SENDING, claimed_by=claim
        ).update(**fields)
    return fields["status"] if updated else None


def webhook_delivery_send(*, delivery_id: int) -> str | None:
    """Try one queued delivery once. Returns the new status, or None when there was nothing to do (delivered,
    failed, claimed by another worker, not due). No transaction is open during the HTTP request."""
    claim = f"{WORKER_NAME}:{uuid.uuid4().hex[:8]}"
    row = _claim(delivery_id=delivery_id, claim=claim)
    if row is None:
        return None
    try:
        answer = _post(row)
    except ValidationError as exc:
        # The URL is no longer acceptable (settings changed): a refusal, not worth the full retry schedule.
        answer = Answer(error=" ".join(exc.messages), refused_unsent=True)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # ValueError: http.client refuses a URL it cannot put on the wire; a row must never stay claimed.
        answer = Answer(error=f"{type(exc).__name__}: {exc}"[:2000])
    return _record(row=row, claim=claim, answer=answer)


def webhooks_requeue_due(*, now=None, limit: int = SWEEP_BATCH) -> int:
    """Queue again the deliveries whose retry is due, whose task may be lost, or whose worker's lease ran out."""
    now = now or timezone.now()
    with transaction.atomic():
        lost = "Worker lost while sending (claim expired); it may have been delivered."
        expired = WebhookDelivery.objects.lease_expired(now)
        # A delivery that keeps killing its worker stops after the last try instead of looping.
        expired.filter(attempts__gte=settings.WEBHOOK_MAX_ATTEMPTS).update(
            status=WebhookDeliveryStatus.FAILED, lease_expires_at=None, last_error=lost
        )
        expired.update(status=WebhookDeliveryStatus.QUEUED, lease_expires_at=None, queued_at=None, last_error=lost)
        ids = list(
            WebhookDelivery.objects.due_for_requeue(now)
            .order_by("created_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(queued_at=now)
            transaction.on_commit(lambda: webhooks_publish(ids))
    return len(ids)


def webhook_deliveries_retry_now(*, delivery_ids: Iterable[int]) -> int:
    """Staff's "retry now": a failed delivery gets a fresh set of tries, a waiting one is tried at once.
    Delivered rows and rows being sent are left alone, so this never sends a delivered summary twice."""
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(
                pk__in=list(delivery_ids), status__in=[WebhookDeliveryStatus.QUEUED, WebhookDeliveryStatus.FAILED]
            )
            .select_for_update()
            .values_list("pk", flat=True)
        )
        WebhookDelivery.objects.filter(pk__in=ids, status=WebhookDeliveryStatus.FAILED).update(attempts=0)
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDeliveryStatus.QUEUED, next_attempt_at=None, queued_at=timezone.now()
        )
        if ids:
            transaction.on_commit(lambda: webhooks_publish(ids))
    return len(ids)
