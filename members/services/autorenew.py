"""Auto-renew with a saved card: opt in or out, notices before any charge, the charge itself (claimed in one
transaction, sent to Stripe with none open, recorded in another), bounded retries, and the emails about it.

The calendar, relative to the end E of the term being renewed and the staff setting D (default 7 days):
  - notice: from E - D - 14 days on, once per term and price (amount, band, type). The charge date is the
    later of E - D and the notice's day + 14: a price that changed after a notice means a new notice and
    14 more days.
  - charge: on the charge date, off-session, exactly one successful charge per term (database constraint and
    Stripe idempotency keys); a decline is retried RETRY_DAYS after the first try, then auto-renew stops and
    the member gets the ordinary reminders, grace and lapse.
  - card expiring before the charge date: an "update your card" email from 30 days before it.
Nothing matches an exact day, so a missed run is caught up by the next one; every email has its own key.
"""

import datetime
import logging
from dataclasses import dataclass, field

import stripe as stripe_sdk
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import (
    AutoRenew,
    AutoRenewSettings,
    ChargeStatus,
    CountryBand,
    Membership,
    Order,
    Price,
    RenewalCharge,
    RenewalNotice,
    Term,
)
from members.models.autorenew import MAX_ATTEMPTS, RETRY_DAYS
from members.models.memberships import society_today
from members.services.memberships import price_quote
from members.services.payments import order_create, order_mark_paid
from members.services.stripe import client, to_minor_units
from society.services.jobs import heartbeat_record
from society.services.mail import email_enqueue_template

logger = logging.getLogger(__name__)

NOTICE_DAYS = 14
CARD_EXPIRY_WARNING_DAYS = 30
# A claimed attempt whose worker died is charged again (same idempotency key) once this has passed.
CHARGE_LEASE = datetime.timedelta(minutes=10)
OFF_LINK_SALT = "members.autorenew.off"
OFF_LINK_MAX_AGE = 60 * 60 * 24 * 90
AUTORENEW_JOB = "run_auto_renewals"
CHARGE_TASK = "members.tasks.charge_auto_renewal"

MSG_NO_CARD = _("Add a card first: auto-renew charges a card saved with our payment provider.")
MSG_NOT_ALLOWED = _("Auto-renew is not available for this membership.")

EMAIL_SUBJECTS = {
    "autorenew_notice": _("Your membership renews automatically on %(charge_date)s"),
    "autorenew_failed": _("Your automatic renewal payment did not go through"),
    "autorenew_action_required": _("Please confirm your membership renewal payment"),
    "autorenew_card_expiring": _("Please update the card for your automatic renewal"),
}


@dataclass(frozen=True)
class SavedCard:
    customer: str
    payment_method: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


# --- Opting in and out ----------------------------------------------------------------------------------


def autorenew_customer(*, membership: Membership) -> str:
    """The member's Stripe Customer id, created once (a network call: never inside a transaction)."""
    row = AutoRenew.objects.get_or_create(membership=membership)[0]
    if row.stripe_customer:
        return row.stripe_customer
    user = membership.user
    customer = client().v1.customers.create(
        {"email": user.email, "name": user.full_name[:256], "metadata": {"membership": str(membership.pk)}},
        # The same Customer however often a first checkout is retried.
        {"idempotency_key": f"customer-membership-{membership.pk}"},
    )
    with transaction.atomic():
        row = AutoRenew.objects.select_for_update().get(pk=row.pk)
        if not row.stripe_customer:
            row.stripe_customer = customer.id
            row.save(update_fields=["stripe_customer"])
    return row.stripe_customer


def card_setup_session_url(*, membership: Membership, request) -> str:
    """A Checkout Session in setup mode: the member adds or replaces the card auto-renew charges."""
    from members.services.stripe import CheckoutUnavailable

    back = request.build_absolute_uri(reverse("members:home"))
    try:
        customer = autorenew_customer(membership=membership)
        session = client().v1.checkout.sessions.create(
            {
                "mode": "setup",
                "currency": settings.DUES_CURRENCY.lower(),
                "customer": customer,
                "client_reference_id": f"membership-{membership.pk}",
                "metadata": {"membership": str(membership.pk), "purpose": "auto_renew_card"},
                "success_url": back + "?card=done",
                "cancel_url": back,
            }
        )
    except stripe_sdk.StripeError as error:
        raise CheckoutUnavailable(str(error)) from error
    return session.url


@transaction.atomic
def autorenew_card_save(*, membership: Membership, card: SavedCard) -> AutoRenew | None:
    """Keep the card Stripe saved (ids, brand, last 4, expiry only) and turn auto-renew on: the member chose it."""
    membership = Membership.objects.select_for_update().filter(pk=membership.pk).first()
    if membership is None:
        return None  # e.g. a webhook naming a membership that does not exist: nothing to save
    row = AutoRenew.objects.select_for_update().filter(membership=membership).first() or AutoRenew(
        membership=membership
    )
    row.stripe_customer = card.customer
    row.payment_method = card.payment_method
    row.card_brand = card.brand[:30]
    row.card_last4 = card.last4 if len(card.last4) == 4 and card.last4.isdigit() else ""
    row.card_exp_month = card.exp_month if card.exp_month and 1 <= card.exp_month <= 12 else None
    row.card_exp_year = card.exp_year
    row.enabled = True
    row.stopped_reason = ""
    row.updated_at = timezone.now()
    row.save()
    return row


@transaction.atomic
def autorenew_set(*, membership: Membership, enabled: bool) -> AutoRenew:
    """Turn auto-renew on or off. The membership row lock makes an "off" wait for, or be seen by, a charge
    being claimed at that moment: a charge never starts after "off" has committed."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    row = AutoRenew.objects.select_for_update().filter(membership=membership).first()
    if row is None or not row.has_card:
        if not enabled:
            return row or AutoRenew(membership=membership)
        raise ValidationError(MSG_NO_CARD, code="no_card")
    if enabled and (membership.cancelled_at is not None or not membership.user.is_active):
        raise ValidationError(MSG_NOT_ALLOWED, code="not_allowed")
    if row.enabled != enabled:
        row.enabled = enabled
        row.stopped_reason = ""
        row.updated_at = timezone.now()
        row.save(update_fields=["enabled", "stopped_reason", "updated_at"])
    return row


def off_link_token(*, membership: Membership) -> str:
    return signing.dumps({"m": membership.pk}, salt=OFF_LINK_SALT, compress=True)


def off_link_membership(*, token: str) -> Membership | None:
    """The membership a one-click "turn off" link names, or None when it is tampered with or expired."""
    try:
        data = signing.loads(token, salt=OFF_LINK_SALT, max_age=OFF_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return Membership.objects.filter(pk=data.get("m")).select_related("user").first()


def off_link_url(*, membership: Membership) -> str:
    return settings.SITE_URL + reverse("members:autorenew-off", kwargs={"token": off_link_token(membership=membership)})


# --- What is due ------------------------------------------------------------------------------------------


def card_expires_before(row: AutoRenew, day: datetime.date) -> bool:
    """A card is valid through the last day of its expiry month."""
    if not row.card_exp_year or not row.card_exp_month:
        return False
    year, month = (
        (row.card_exp_year + 1, 1) if row.card_exp_month == 12 else (row.card_exp_year, row.card_exp_month + 1)
    )
    return datetime.date(year, month, 1) - datetime.timedelta(days=1) < day


def autorenew_candidates(*, today: datetime.date, horizon_days: int):
    """Auto-renewals that may be charged: on, a membership neither cancelled nor lapsed, an active account, no
    application waiting for approval, whose latest term ends within `horizon_days`. Annotated with that term
    (`term_id`, `term_type_id`) and today's price for its type and the member's band (`price_amount`,
    `price_band`); notices and attempts of that term are fetched with two more queries."""
    latest = Term.objects.counting().filter(membership=OuterRef("membership"), end=OuterRef("membership__current_end"))
    band = CountryBand.objects.filter(country=OuterRef("membership__user__country")).values("band")[:1]
    price = Price.objects.filter(membership_type=OuterRef("term_type_id"), band=OuterRef("price_band")).values(
        "amount"
    )[:1]
    awaiting = Order.objects.awaiting_approval().filter(membership=OuterRef("membership"))
    return (
        AutoRenew.objects.enabled()
        .filter(
            membership__cancelled_at__isnull=True,
            membership__user__is_active=True,
            membership__current_end__gte=today - datetime.timedelta(days=settings.GRACE_DAYS),
            membership__current_end__lte=today + datetime.timedelta(days=horizon_days),
        )
        .exclude(Exists(awaiting))
        .annotate(
            term_id=Subquery(latest.values("pk")[:1]),
            term_type_id=Subquery(latest.values("membership_type")[:1]),
            term_end=F("membership__current_end"),
            price_band=Subquery(band),
        )
        .annotate(price_amount=Subquery(price))
        .select_related("membership__user")
        .order_by("pk")
    )


@dataclass
class Due:
    notices: list = field(default_factory=list)  # (AutoRenew, charge_on)
    card_warnings: list = field(default_factory=list)  # (AutoRenew, charge_on)
    charges: list = field(default_factory=list)  # AutoRenew


def charge_date(*, end: datetime.date, days_before: int, notice: RenewalNotice | None) -> datetime.date:
    planned = end - datetime.timedelta(days=days_before)
    return planned if notice is None else max(planned, notice.charge_on)


def _matches(notice: RenewalNotice | None, *, type_id, band, amount) -> bool:
    return notice is not None and (notice.membership_type_id, notice.band, notice.amount, notice.currency) == (
        type_id,
        band,
        amount,
        settings.DUES_CURRENCY,
    )


def next_attempt(*, attempts: list[RenewalCharge], charge_on: datetime.date, now) -> tuple[int, datetime.date] | None:
    """(attempt number, first day it may run) of the next charge of a term, or None when none is to be made:
    one succeeded or is under way, one needs the member's confirmation, or all tries are spent."""
    if any(a.status in (ChargeStatus.SUCCEEDED, ChargeStatus.REQUIRES_ACTION) for a in attempts):
        return None
    for attempt in attempts:
        if attempt.status == ChargeStatus.PROCESSING:
            # Under way; or its worker died: the same attempt again, under the same idempotency key.
            if attempt.lease_expires_at and attempt.lease_expires_at <= now:
                return attempt.attempt, attempt.attempted_on
            return None
    if not attempts:
        return 1, charge_on
    if len(attempts) >= MAX_ATTEMPTS:
        return None
    first = min(attempts, key=lambda a: a.attempt).attempted_on
    return len(attempts) + 1, first + datetime.timedelta(days=RETRY_DAYS[len(attempts) - 1])


def autorenew_due(*, today: datetime.date, days_before: int) -> Due:
    """What the job has to do today, in four queries whatever the number of members."""
    due = Due()
    now = timezone.now()
    rows = list(autorenew_candidates(today=today, horizon_days=days_before + CARD_EXPIRY_WARNING_DAYS))
    term_ids = [row.term_id for row in rows if row.term_id]
    notices, attempts = {}, {}
    for notice in RenewalNotice.objects.filter(term__in=term_ids).order_by("created_at"):
        notices[notice.term_id] = notice  # the latest notice of each term
    for attempt in RenewalCharge.objects.filter(term__in=term_ids):
        attempts.setdefault(attempt.term_id, []).append(attempt)
    for row in rows:
        if row.term_id is None or row.price_amount is None:
            continue  # no band or price for the member: nothing can be announced, so nothing is charged
        notice = notices.get(row.term_id)
        term_attempts = attempts.get(row.term_id, [])
        if any(a.status == ChargeStatus.SUCCEEDED for a in term_attempts):
            continue
        current = _matches(notice, type_id=row.term_type_id, band=row.price_band, amount=row.price_amount)
        charge_on = charge_date(end=row.term_end, days_before=days_before, notice=notice if current else None)
        if card_expires_before(row, charge_on) and today >= charge_on - datetime.timedelta(
            days=CARD_EXPIRY_WARNING_DAYS
        ):
            due.card_warnings.append((row, charge_on))
        if not current:
            # Announce from 14 days before the planned charge; a changed price is announced again at once.
            # Never once the term has ended: a renewal in grace is the member's own decision.
            if charge_on - datetime.timedelta(days=NOTICE_DAYS) <= today <= row.term_end:
                due.notices.append((row, max(charge_on, today + datetime.timedelta(days=NOTICE_DAYS))))
            continue
        upcoming = next_attempt(attempts=term_attempts, charge_on=charge_on, now=now)
        if upcoming is not None and upcoming[1] <= today:
            due.charges.append(row)
    return due


# --- The job ----------------------------------------------------------------------------------------------


@dataclass
class AutoRenewRun:
    today: datetime.date
    notices: int = 0
    card_warnings: int = 0
    charges_queued: int = 0
    charge_ids: list[int] = field(default_factory=list)  # memberships whose charge task was queued


def _email(*, row: AutoRenew, kind: str, key: str, context: dict):
    user = row.membership.user
    context = {
        "user": user,
        "card": row,
        "membership_url": settings.SITE_URL + reverse("members:home"),
        "off_url": off_link_url(membership=row.membership),
        **context,
    }
    return email_enqueue_template(
        to=user.email,
        language=user.language,
        subject=EMAIL_SUBJECTS[kind],
        template=f"members/email/{kind}",
        context=context,
        kind=kind,
        key=key,
    )


def autorenew_run(*, today: datetime.date | None = None) -> AutoRenewRun:
    """Send due notices and card warnings (outbox, once each) and queue one charge task per due renewal.

    The charges themselves run in the tasks, which re-check everything under the membership's row lock."""
    from django.utils.formats import date_format

    today = today or society_today()
    days_before = AutoRenewSettings.current().charge_days_before_end
    run = AutoRenewRun(today=today)
    due = autorenew_due(today=today, days_before=days_before)
    with transaction.atomic():
        for row, charge_on in due.notices:
            email = _email(
                row=row,
                kind="autorenew_notice",
                key=f"autorenew_notice:{row.term_id}:{row.term_type_id}:{row.price_band}:{row.price_amount}",
                context={
                    "amount": row.price_amount,
                    "currency": settings.DUES_CURRENCY,
                    "charge_on": charge_on,
                    "charge_date": date_format(charge_on, "DATE_FORMAT"),
                    "end": row.term_end,
                },
            )
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
                ],
                ignore_conflicts=True,  # a concurrent run wrote it: its email key made ours the same row
            )
            run.notices += 1
        for row, charge_on in due.card_warnings:
            _email(
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
    from celery import current_app
    from kombu.exceptions import OperationalError as BrokerError

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
        if term.membership_type.requires_approval:
            return None  # each renewal of these types is approved by staff first
        try:
            quote = price_quote(user=membership.user, membership_type=term.membership_type)
        except ValidationError:
            return None
        notice = RenewalNotice.objects.filter(term=term).order_by("-created_at").first()
        if not _matches(notice, type_id=term.membership_type_id, band=quote.band, amount=quote.amount):
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
        _email(
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
    _email(
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
    from members.services.stripe import WebhookRejected

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


def card_from_payment_method(*, customer: str, payment_method: dict) -> SavedCard | None:
    card = payment_method.get("card") if isinstance(payment_method, dict) else None
    if not isinstance(card, dict) or not isinstance(payment_method.get("id"), str):
        return None
    return SavedCard(
        customer=customer,
        payment_method=payment_method["id"][:255],
        brand=str(card.get("brand") or ""),
        last4=str(card.get("last4") or ""),
        exp_month=card.get("exp_month") if isinstance(card.get("exp_month"), int) else None,
        exp_year=card.get("exp_year") if isinstance(card.get("exp_year"), int) else None,
    )


def saved_card_of_session(*, session: dict) -> tuple[int, SavedCard] | None:
    """For a completed Checkout Session that saved a card for auto-renew: (membership id, the card), asking
    Stripe for the card's details. A network call: the webhook makes it before opening its transaction."""
    metadata = session.get("metadata") if isinstance(session.get("metadata"), dict) else {}
    customer = session.get("customer")
    if not isinstance(customer, str) or not customer:
        return None
    api = client().v1
    if session.get("mode") == "setup" and metadata.get("purpose") == "auto_renew_card":
        membership_id = str(metadata.get("membership") or "")
        if not membership_id.isdigit() or not isinstance(session.get("setup_intent"), str):
            return None
        intent = api.setup_intents.retrieve(session["setup_intent"], {"expand": ["payment_method"]})
    elif session.get("mode") == "payment" and metadata.get("auto_renew") == "1":
        order = Order.objects.filter(number=str(metadata.get("order_number") or "")[:20]).first()
        if order is None or not isinstance(session.get("payment_intent"), str):
            return None
        membership_id = str(order.membership_id)
        intent = api.payment_intents.retrieve(session["payment_intent"], {"expand": ["payment_method"]})
    else:
        return None
    card = card_from_payment_method(customer=customer, payment_method=intent.to_dict().get("payment_method"))
    return (int(membership_id), card) if card else None


def membership_autorenew(*, membership: Membership) -> AutoRenew | None:
    return AutoRenew.objects.filter(membership=membership).first()
