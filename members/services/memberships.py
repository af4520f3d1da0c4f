"""Memberships: which price a member pays, when they may renew, how long a term runs, cancellation."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from members.models import (
    CountryBand,
    IncomeBand,
    Membership,
    MembershipType,
    Order,
    OrderStatus,
    Price,
)
from members.models.memberships import ACCESS_STATUSES, RENEWABLE_STATUSES, membership_status, society_today

# Messages raised by the services; tests import them rather than copying the wording.
MSG_WINDOW_NOT_OPEN = _("Your membership runs until %(end)s. Renewal opens on %(opens)s, %(days)s days before it ends.")
MSG_NOT_PURCHASABLE = _("The %(type)s membership is granted by the society and cannot be bought.")
MSG_NO_COUNTRY = _("Please add your country to your profile: dues depend on it.")
MSG_NO_BAND = _("Dues for %(country)s are not set yet. Please write to the society's office.")
MSG_NO_PRICE = _("There is no price yet for %(type)s membership in the %(band)s band.")
MSG_NO_TERM = _("%(type)s membership is not offered for %(years)s years.")
MSG_LIFETIME = _("You are a lifetime member: there is nothing to renew.")
MSG_CANCELLED = _("This membership was cancelled. Please write to the society's office to rejoin.")
MSG_REASON_REQUIRED = _("Please give a reason.")
MSG_ALREADY_CANCELLED = _("This membership is already cancelled.")


@dataclass(frozen=True)
class Quote:
    """The price a member would pay today for a type, and why: their country and its band."""

    membership_type: MembershipType
    country: str
    country_name: str
    band: str
    amount: Decimal
    currency: str
    years: int = 1
    # Every term length the type is offered in for this band, {years: amount}; {1: amount} at least.
    term_prices: dict = field(default_factory=dict)

    @property
    def band_label(self) -> str:
        return IncomeBand(self.band).label


def band_for_country(*, country: str) -> str:
    if not country:
        raise ValidationError(MSG_NO_COUNTRY, code="no_country")
    band = CountryBand.objects.filter(country=country).values_list("band", flat=True).first()
    if band is None:
        raise ValidationError(MSG_NO_BAND, code="no_band", params={"country": countries.name(country) or country})
    return band


def price_quote(*, user, membership_type: MembershipType, years: int = 1) -> Quote:
    """The price of `years` of `membership_type` for the member's band (a lifetime type has one price,
    its 1-year row)."""
    country = str(user.country or "")
    band = band_for_country(country=country)
    term_prices = dict(Price.objects.filter(membership_type=membership_type, band=band).values_list("years", "amount"))
    if membership_type.is_lifetime:
        term_prices = {1: term_prices[1]} if 1 in term_prices else {}
    if not term_prices:
        raise ValidationError(
            MSG_NO_PRICE, code="no_price", params={"type": membership_type.name, "band": IncomeBand(band).label}
        )
    amount = term_prices.get(years)
    if amount is None:
        raise ValidationError(MSG_NO_TERM, code="no_term", params={"type": membership_type.name, "years": years})
    return Quote(
        membership_type=membership_type,
        country=country,
        country_name=user.country.name,
        band=band,
        amount=amount,
        currency=settings.DUES_CURRENCY,
        years=years,
        term_prices=dict(sorted(term_prices.items())),
    )


def last_end_of(membership: Membership | None) -> datetime.date | None:
    """The end of the current term. Voided (refunded) terms do not count: a renewal after a refund starts
    after the last term that does."""
    term = membership.current_term() if membership is not None and membership.pk is not None else None
    return term.end if term else None


def renewal_opens_on(*, last_end: datetime.date | None) -> datetime.date | None:
    """The first day a member may renew: RENEWAL_WINDOW_DAYS before the current term ends."""
    if last_end is None:
        return None
    return last_end - datetime.timedelta(days=settings.RENEWAL_WINDOW_DAYS)


def check_may_order(*, membership: Membership | None, today: datetime.date | None = None) -> None:
    """Raise unless the member may join (no term yet) or renew today (RENEWABLE_STATUSES)."""
    today = today or society_today()
    if membership is not None and membership.cancelled_at is not None:
        raise ValidationError(MSG_CANCELLED, code="cancelled")
    if membership is not None and membership.lifetime:
        raise ValidationError(MSG_LIFETIME, code="lifetime")
    last_end = last_end_of(membership)
    if last_end is not None and membership_status(today=today, last_end=last_end) not in RENEWABLE_STATUSES:
        raise ValidationError(
            MSG_WINDOW_NOT_OPEN,
            code="window_not_open",
            params={
                "end": formats.date_format(last_end, "DATE_FORMAT"),
                "opens": formats.date_format(renewal_opens_on(last_end=last_end), "DATE_FORMAT"),
                "days": settings.RENEWAL_WINDOW_DAYS,
            },
        )


def term_end_for(*, start: datetime.date, membership_type: MembershipType, years: int = 1) -> datetime.date | None:
    """The end of a term bought as `years` of `membership_type`: none for a lifetime type."""
    if membership_type.is_lifetime:
        return None
    return term_end(start=start, months=membership_type.term_months * years)


def term_end(*, start: datetime.date, months: int) -> datetime.date:
    """The inclusive last day of a term of `months` starting on `start`.

    The term ends the day before its anniversary. When the anniversary does not exist (a term starting
    on 31 January or 29 February), relativedelta clamps it to the month's last day, which is itself the
    last day of the term: the next term then starts on the 1st of the following month, losing no day.
    """
    anniversary = start + relativedelta(months=months)
    if anniversary.day != start.day:
        return anniversary
    return anniversary - datetime.timedelta(days=1)


def next_term_start(*, last_end: datetime.date | None, paid_on: datetime.date) -> datetime.date:
    """Renewing while active, expiring or in grace continues from the old end; otherwise from the payment day."""
    status = membership_status(today=paid_on, last_end=last_end)
    if last_end is not None and status in ACCESS_STATUSES:
        return last_end + datetime.timedelta(days=1)
    return paid_on


@transaction.atomic
def membership_cancel(*, membership: Membership, reason: str, by) -> Membership:
    """Cancel a membership (status `cancelled`); its terms and orders stay as history. Pending orders are void."""
    if not (reason or "").strip():
        raise ValidationError(MSG_REASON_REQUIRED, code="reason_required")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.cancelled_at is not None:
        raise ValidationError(MSG_ALREADY_CANCELLED, code="already_cancelled")
    membership.cancelled_at = timezone.now()
    membership.cancel_reason = reason.strip()
    membership._history_user = by
    membership.save(update_fields=["cancelled_at", "cancel_reason"])
    for order in Order.objects.select_for_update().filter(membership=membership, status=OrderStatus.PENDING):
        order.status = OrderStatus.CANCELLED
        order._history_user = by
        order.save(update_fields=["status"])
    return membership
