"""Auto-renew, the schedule: what the daily job has to do for each member who renews automatically.

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
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone

from members.models import (
    AutoRenew,
    ChargeStatus,
    CountryBand,
    Order,
    Price,
    RenewalCharge,
    RenewalNotice,
    Term,
)
from members.models.autorenew import MAX_ATTEMPTS, RETRY_DAYS

NOTICE_DAYS = 14
CARD_EXPIRY_WARNING_DAYS = 30


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
    # Auto-renew renews one year at a time, at the 1-year price (multi-year terms are bought by hand).
    price = Price.objects.filter(membership_type=OuterRef("term_type_id"), band=OuterRef("price_band"), years=1).values(
        "amount"
    )[:1]
    awaiting = Order.objects.awaiting_approval().filter(membership=OuterRef("membership"))
    return (
        AutoRenew.objects.enabled()
        .filter(
            membership__cancelled_at__isnull=True,
            # A lifetime membership has nothing to renew.
            membership__lifetime=False,
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


def notice_matches(notice: RenewalNotice | None, *, type_id, band, amount) -> bool:
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
    # Never before the charge date either: a price announced anew after a decline waits its 14 days too.
    return len(attempts) + 1, max(charge_on, first + datetime.timedelta(days=RETRY_DAYS[len(attempts) - 1]))


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
        current = notice_matches(notice, type_id=row.term_type_id, band=row.price_band, amount=row.price_amount)
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
