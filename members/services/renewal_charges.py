"""Auto-renew, the charges: the job (notices, card warnings, one queued task per due charge) and one charge,
claimed in a transaction, sent to Stripe with none open, its result recorded in another; and the webhook
events of those charges. The calendar is in renewal_schedule.py."""

import datetime
import logging
from dataclasses import dataclass, field

import stripe as stripe_sdk
from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from members.models import (
    AutoRenew,
    AutoRenewSettings,
    ChargeStatus,
    Membership,
    Order,
    RenewalCharge,
    RenewalNotice,
    Term,
)
from members.models.autorenew import MAX_ATTEMPTS
from members.models.memberships import society_today
from members.services.autorenew import autorenew_email, autorenew_email_unsaved
from members.services.memberships import price_quote
from members.services.payments import order_create, order_mark_paid
from members.services.renewal_schedule import (
    autorenew_candidates,
    autorenew_due,
    charge_date,
    next_attempt,
    notice_matches,
)
from members.services.stripe_api import WebhookRejected, client, to_minor_units
from society.services.jobs import heartbeat_record
from society.services.mail import emails_enqueue_bulk

logger = logging.getLogger(__name__)

# A claimed attempt whose worker died is charged again (same idempotency key) once this has passed.
CHARGE_LEASE = datetime.timedelta(minutes=10)
AUTORENEW_JOB = "run_auto_renewals"
CHARGE_TASK = "members.tasks.charge_auto_renewal"
ADVISORY_LOCK_KEY = 0x4155544F  # "AUTO"


@dataclass
class AutoRenewRun:
    today: datetime.date
    notices: int = 0
    card_warnings: int = 0
    charges_queued: int = 0
    charge_ids: list[int] = field(default_factory=list)  # memberships whose charge task was queued


def autorenew_run(*, today: datetime.date | None = None) -> AutoRenewRun:
    """Send due notices and card warnings (outbox, once each) and queue one charge task per due renewal.

    The charges themselves run in the tasks, which re-check everything under the membership's row lock."""
    today = today or society_today()
    days_before = AutoRenewSettings.current().charge_days_before_end
    run = AutoRenewRun(today=today)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Runs take turns (beat plus a manual run): the second computes what is due after the first's notices.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        due = autorenew_due(today=today, days_before=days_before)
        emails = [
            autorenew_email_unsaved(
                row=row,
                kind="autorenew_notice",
                key=f"autorenew_notice:{row.term_id}:{today.isoformat()}",
                context={
                    "amount": row.price_amount,
                    "currency": settings.DUES_CURRENCY,
                    "charge_on": charge_on,
                    "end": row.term_end,
                },
            )
            for row, charge_on in due.notices
        ]
        RenewalNotice.objects.bulk_create(
            [
                RenewalNotice(
                    membership_id=row.membership_id,
                    term_id=row.term_id,
                    membership_type_id=row.term_type_id,
                    band=row.price_band,
                    amount=row.price_amount,
                    currency=settings.DUES_CURRENCY,
                    sent_on=today,
                    charge_on=charge_on,
                    email=email,
                )
                for (row, charge_on), email in zip(due.notices, emails_enqueue_bulk(emails), strict=True)
            ],
            batch_size=1000,
        )
        run.notices = len(emails)
        for row, charge_on in due.card_warnings:
            autorenew_email(
                row=row,
                kind="autorenew_card_expiring",
                key=f"autorenew_card_expiring:{row.term_id}:{row.payment_method}",
                context={"charge_on": charge_on, "card_url": settings.SITE_URL + reverse("members:autorenew-card")},
            )
            run.card_warnings += 1
        ids = run.charge_ids = [row.membership_id for row in due.charges]
        run.charges_queued = len(ids)
        transaction.on_commit(lambda: charges_publish(ids))
        heartbeat_record(
            name=AUTORENEW_JOB,
            result={"today": today.isoformat(), "notices": run.notices, "charges": run.charges_queued},
        )
    logger.info("Auto-renew for %s: %s", today, run)
    return run


def charges_publish(membership_ids: list[int]) -> None:
    """One charge task per membership on one broker connection. A failed publish leaves nothing claimed, so
    the next run finds the same charges due."""
    if not membership_ids:
        return
    try:
        with current_app.producer_or_acquire() as producer:
            for membership_id in membership_ids:
                current_app.send_task(CHARGE_TASK, args=[membership_id], producer=producer)
    except (BrokerError, OSError) as exc:
        logger.warning("Broker unreachable, auto-renew charges wait for the next run: %s", exc)


# --- One charge -------------------------------------------------------------------------------------------


def _claim(*, membership_id: int, today: datetime.date) -> RenewalCharge | None:
    """In one transaction: re-read everything under the membership's row lock and claim the next attempt,
    or return None when no charge may be made now."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().select_related("user").filter(pk=membership_id).first()
        row = AutoRenew.objects.select_for_update().filter(membership_id=membership_id).first()
        if membership is None or row is None or not row.enabled or not row.has_card:
            return None
        days_before = AutoRenewSettings.current().charge_days_before_end
        candidate = (
            autorenew_candidates(today=today, horizon_days=days_before).filter(pk=row.pk).first()
        )  # cancelled, lapsed, erased, awaiting approval: not a candidate
        if candidate is None or candidate.term_id is None or candidate.price_amount is None:
            return None
        term = Term.objects.select_related("membership_type").get(pk=candidate.term_id)
        if term.membership_type.requires_approval or term.membership_type.is_lifetime:
            return None  # approved by staff first; or a lifetime type, which is never renewed
        try:
            quote = price_quote(user=membership.user, membership_type=term.membership_type)
        except ValidationError:
            return None
        notice = RenewalNotice.objects.filter(term=term).order_by("-created_at").first()
        if not notice_matches(notice, type_id=term.membership_type_id, band=quote.band, amount=quote.amount):
            return None  # no notice for this price: the job sends one and the charge waits 14 days
        attempts = list(RenewalCharge.objects.select_for_update().filter(term=term))
        charge_on = charge_date(end=term.end, days_before=days_before, notice=notice)
        upcoming = next_attempt(attempts=attempts, charge_on=charge_on, now=timezone.now())
        if upcoming is None or upcoming[1] > today:
            return None
        number, _day = upcoming
        lease = timezone.now() + CHARGE_LEASE
        claimed = next((a for a in attempts if a.attempt == number), None)
        if claimed is not None:  # a dead worker's attempt, retried under the same idempotency key
            claimed.lease_expires_at = lease
            claimed.save(update_fields=["lease_expires_at"])
            return claimed
        try:
            order = order_create(user=membership.user, membership_type=term.membership_type, provider="stripe")
        except ValidationError:
            return None
        if order.awaits_approval or order.amount != notice.amount:
            return None
        return RenewalCharge.objects.create(
            membership=membership,
            term=term,
            attempt=number,
            order=order,
            lease_expires_at=lease,
            attempted_on=today,
        )


def charge_idempotency_key(charge: RenewalCharge) -> str:
    """Derived from the membership, the term being renewed and the try: a repeat of one try (a worker that
    died, two tasks) gets Stripe's first answer back and never a second charge."""
    return f"autorenew-{charge.membership_id}-term-{charge.term_id}-try-{charge.attempt}"


def autorenew_charge(*, membership_id: int, today: datetime.date | None = None) -> str:
    """Charge the saved card for a due renewal, at most once per attempt. Returns what happened."""
    today = today or society_today()
    charge = _claim(membership_id=membership_id, today=today)
    if charge is None:
        return "nothing due"
    row = AutoRenew.objects.get(membership_id=membership_id)
    order = charge.order
    # No transaction is open here: the network call must never hold a row lock.
    try:
        intent = client().v1.payment_intents.create(
            {
                "amount": to_minor_units(order.amount, order.currency),
                "currency": order.currency.lower(),
                "customer": row.stripe_customer,
                "payment_method": row.payment_method,
                "off_session": True,
                "confirm": True,
                "description": f"{order.membership_type.name} membership renewal ({order.number})",
                "metadata": {"order_number": order.number, "renewal_charge": str(charge.pk)},
            },
            {"idempotency_key": charge_idempotency_key(charge)},
        )
    except stripe_sdk.CardError as error:
        body = error.json_body.get("error", {}) if isinstance(error.json_body, dict) else {}
        intent = body.get("payment_intent") or {}
        status = intent.get("status") if isinstance(intent, dict) else None
        outcome = ChargeStatus.REQUIRES_ACTION if status == "requires_action" else ChargeStatus.FAILED
        return charge_record(
            charge_id=charge.pk,
            status=outcome,
            payment_intent=intent.get("id", "") if isinstance(intent, dict) else "",
            decline_code=body.get("decline_code") or body.get("code") or "",
        )
    except stripe_sdk.StripeError as error:
        # Unknown outcome (network, Stripe down): the attempt stays claimed; when its lease runs out the next
        # run repeats it with the same idempotency key, so Stripe answers what it did the first time.
        logger.warning("Auto-renew charge %s: no answer from Stripe: %s", charge.pk, error)
        return "unknown"
    status = {"succeeded": ChargeStatus.SUCCEEDED, "requires_action": ChargeStatus.REQUIRES_ACTION}.get(
        intent.status, ChargeStatus.FAILED if intent.status == "requires_payment_method" else None
    )
    if status is None:
        return "processing"  # e.g. "processing": the webhook records the result
    return charge_record(charge_id=charge.pk, status=status, payment_intent=intent.id)


@transaction.atomic
def charge_record(
    *, charge_id: int, status: str, payment_intent: str = "", decline_code: str = "", paid_at=None
) -> str:
    """Record an attempt's result once, from the charge's own answer or from a webhook, whichever is first:
    a success pays the order (one term, via order_mark_paid); a failure emails the member, and the last one
    stops auto-renew."""
    # Membership, auto-renew, then attempt: the order _claim locks them in, so the two never deadlock.
    membership_id = RenewalCharge.objects.values_list("membership_id", flat=True).get(pk=charge_id)
    Membership.objects.select_for_update().filter(pk=membership_id).first()
    row = AutoRenew.objects.select_for_update().select_related("membership__user").get(membership_id=membership_id)
    charge = RenewalCharge.objects.select_for_update().select_related("order", "term").get(pk=charge_id)
    if charge.status != ChargeStatus.PROCESSING:
        return "already recorded"
    charge.status = status
    charge.payment_intent = payment_intent[:255]
    charge.decline_code = decline_code[:100]
    charge.finished_at = timezone.now()
    charge.lease_expires_at = None
    charge.save(update_fields=["status", "payment_intent", "decline_code", "finished_at", "lease_expires_at"])
    if status == ChargeStatus.SUCCEEDED:
        order_mark_paid(order=charge.order, payment_intent=payment_intent or None, paid_at=paid_at)
        return "paid"
    card_url = settings.SITE_URL + reverse("members:autorenew-card")
    if status == ChargeStatus.REQUIRES_ACTION:
        autorenew_email(
            row=row,
            kind="autorenew_action_required",
            key=f"autorenew_action_required:{charge.term_id}",
            context={"order": charge.order, "order_url": settings.SITE_URL + charge.order.get_absolute_url()},
        )
        return "requires action"
    final = charge.attempt >= MAX_ATTEMPTS
    if final:
        row.enabled = False
        row.stopped_reason = f"{MAX_ATTEMPTS} declined charges for the term ending {charge.term.end.isoformat()}"
        row.updated_at = timezone.now()
        row.save(update_fields=["enabled", "stopped_reason", "updated_at"])
        # The unpaid card order stays for the member to pay by hand; reminders now take over.
    autorenew_email(
        row=row,
        kind="autorenew_failed",
        key=f"autorenew_failed:{charge.term_id}:{charge.attempt}",
        context={
            "final": final,
            "retries_left": MAX_ATTEMPTS - charge.attempt,
            "card_url": card_url,
            "order": charge.order,
        },
    )
    return "stopped" if final else "declined"


# --- Webhooks (called by members.services.stripe.webhook_process, inside its transaction) ------------------


def intent_event_apply(*, event: dict) -> tuple[Order | None, str]:
    """payment_intent.succeeded / payment_intent.payment_failed for an auto-renew charge."""
    intent = event["data"]["object"]
    metadata = intent.get("metadata") if isinstance(intent.get("metadata"), dict) else {}
    charge_id = str(metadata.get("renewal_charge") or "")
    if not charge_id.isdigit():
        return None, "ignored"  # not ours (a Checkout payment's intent: checkout.session.* carries it)
    charge = RenewalCharge.objects.select_related("order").filter(pk=int(charge_id)).first()
    if charge is None or charge.order.number != metadata.get("order_number"):
        raise WebhookRejected(f"unknown renewal charge {charge_id!r:.50}")
    intent_id = intent.get("id") if isinstance(intent.get("id"), str) else ""
    if not intent_id or len(intent_id) > 255:
        raise WebhookRejected("payment intent without a usable id")
    order = charge.order
    if event["type"] == "payment_intent.succeeded":
        if intent.get("amount_received", intent.get("amount")) != to_minor_units(order.amount, order.currency) or (
            str(intent.get("currency", "")).upper() != order.currency.upper()
        ):
            raise WebhookRejected(f"amount or currency of {order.number} does not match")
        paid_at = datetime.datetime.fromtimestamp(event["created"], tz=datetime.UTC)
        outcome = charge_record(
            charge_id=charge.pk, status=ChargeStatus.SUCCEEDED, payment_intent=intent_id, paid_at=paid_at
        )
        if outcome == "already recorded":
            # Recorded from the charge's own answer first; paying again is a no-op that returns the same term.
            order_mark_paid(order=order, payment_intent=intent_id, paid_at=paid_at)
        return order, "paid"
    error = intent.get("last_payment_error") if isinstance(intent.get("last_payment_error"), dict) else {}
    code = str(error.get("decline_code") or error.get("code") or "")
    status = ChargeStatus.REQUIRES_ACTION if code == "authentication_required" else ChargeStatus.FAILED
    return order, charge_record(charge_id=charge.pk, status=status, payment_intent=intent_id, decline_code=code)
