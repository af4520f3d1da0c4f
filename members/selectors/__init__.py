"""Reads that span models: who may see member-only pages, the figures of the staff dashboard, and the
accountant's tables of a date range."""

import datetime
import functools
import itertools
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Count, Exists, OuterRef, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from members.models import (
    CountryBand,
    IncomeBand,
    Membership,
    MembershipStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentReview,
    Refund,
    Term,
    User,
)
from members.models.accounts import search_words
from members.models.memberships import ACCESS_STATUSES, society_today
from society.cache import cached_figures

CHART_COUNTRIES = 25  # the chart shows the largest; the table below it lists every country


def membership_status_for_user(user) -> MembershipStatus | None:
    """The user's derived membership status, or None for a visitor or an account with no membership."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = Membership.objects.with_status(society_today()).filter(user=user).first()
    return MembershipStatus(membership.status) if membership else None


def has_member_access(user) -> bool:
    """Active, expiring and grace members see member-only pages; pending, lapsed and cancelled do not."""
    return membership_status_for_user(user) in ACCESS_STATUSES


def memberships_searched_by_staff(memberships, text: str):
    """Memberships matching every word of a staff search: in the member's email, name or ORCID iD, or in
    one of their order numbers. Each word is one `id IN (… UNION …)` of trigram index lookups on users and
    orders; the admin's default, an OR across the joined tables, reads every membership to answer it."""
    for word in search_words(text):
        members = User.objects.matching_word(word, ("email", "full_name", "orcid")).values("pk")
        by_member = Membership.objects.filter(user__in=members).values("pk")
        by_order = Order.objects.filter(number__icontains=word).values("membership_id")
        memberships = memberships.filter(pk__in=by_member.union(by_order))
    return memberships


def member_countries() -> list[str]:
    """The countries of members' accounts, without reading every membership: a loose index scan that jumps
    from one country to the next in the user_country index (about 250 index probes, not 500,000 rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE found(country) AS (
                (SELECT u.country FROM members_user u WHERE u.country > '' AND EXISTS (
                    SELECT 1 FROM members_membership m WHERE m.user_id = u.id) ORDER BY u.country LIMIT 1)
                UNION ALL
                SELECT (SELECT u.country FROM members_user u WHERE u.country > found.country AND EXISTS (
                    SELECT 1 FROM members_membership m WHERE m.user_id = u.id) ORDER BY u.country LIMIT 1)
                FROM found WHERE found.country IS NOT NULL
            )
            SELECT country FROM found WHERE country IS NOT NULL
            """
        )
        return [row[0] for row in cursor.fetchall()]


# Every membership's latest counting term (the lifetime term of a lifetime membership, else the one ending on
# current_end) by when it ends, for the status counts, the memberships ending soon and members with access by
# country. Whole months away from today come from RenewalCount (the latest terms are those with no next term,
# gap IS NULL) less the few cancelled memberships; the months from the grace floor's to the renewal window's
# end, and lifetime terms, are read term by term. Each branch is one index range (an OR would read the heap).
LATEST_TERMS_SQL = """
    SELECT category, days, country, GROUPING(country) = 0 AS by_country, SUM(n) AS n FROM (
        SELECT CASE WHEN latest.day IS NULL THEN 'lifetime' WHEN latest.day < %(grace_floor)s THEN 'lapsed'
                WHEN latest.day < %(today)s THEN 'grace' ELSE 'ahead' END AS category,
            CASE WHEN latest.day >= %(today)s AND latest.day < %(detail_to)s THEN latest.day - %(today)s END AS days,
            latest.country, latest.n
        FROM (
            SELECT r.end_month AS day, r.country, r.n FROM members_renewalcount r
            WHERE r.gap IS NULL AND r.end_month < %(detail_from)s
            UNION ALL
            SELECT r.end_month, r.country, r.n FROM members_renewalcount r
            WHERE r.gap IS NULL AND r.end_month >= %(detail_to)s
            UNION ALL
            SELECT f."end", f.country, -1 FROM members_termfact f
            WHERE f.next_start IS NULL AND f.cancelled AND f."end" < %(detail_from)s
            UNION ALL
            SELECT f."end", f.country, -1 FROM members_termfact f
            WHERE f.next_start IS NULL AND f.cancelled AND f."end" >= %(detail_to)s
            UNION ALL
            SELECT f."end", f.country, 1 FROM members_termfact f
            WHERE f.next_start IS NULL AND NOT f.cancelled AND f."end" >= %(detail_from)s AND f."end" < %(detail_to)s
            UNION ALL
            SELECT f."end", f.country, 1 FROM members_termfact f
            WHERE f.next_start IS NULL AND NOT f.cancelled AND f."end" IS NULL
        ) latest
    ) classified
    GROUP BY GROUPING SETS ((category, days), (category, country))
"""
# Of the terms that ended in the last 12 months, how many a later term followed: whole months from
# RenewalCount (gap IS NOT NULL: a next term exists), the two part months at either end term by term.
RENEWED_SQL = """
    SELECT COALESCE(SUM(n), 0) AS total, COALESCE(SUM(n) FILTER (WHERE followed), 0) AS renewed FROM (
        SELECT r.n, r.gap IS NOT NULL AS followed FROM members_renewalcount r
        WHERE r.end_month >= %(whole_from)s AND r.end_month < %(whole_to)s
        UNION ALL
        SELECT 1, f.next_start IS NOT NULL FROM members_termfact f
        WHERE f."end" >= %(year_ago)s AND f."end" < %(whole_from)s
        UNION ALL
        SELECT 1, f.next_start IS NOT NULL FROM members_termfact f
        WHERE f."end" >= %(whole_to)s AND f."end" < %(today)s
    ) ended
"""
DUES_SQL = """
    SELECT GROUPING(o.band) = 0 AS by_band, o.currency, o.band, mt.name, SUM(o.amount), COUNT(*)
    FROM members_order o JOIN members_membershiptype mt ON mt.id = o.membership_type_id
    WHERE o.status = %(paid)s AND o.paid_at >= %(since)s
    GROUP BY GROUPING SETS ((o.currency, o.band), (o.currency, mt.name))
"""
ENDING_DAYS = (30, 60, 90)


def _latest_terms(today: datetime.date) -> tuple[dict, dict, list]:
    """Counts of the live memberships with a term: by status, by days until their end (for those ending from
    today to the window's or 90 days' end), and the members with access by country (largest first)."""
    window_start = today + datetime.timedelta(days=settings.RENEWAL_WINDOW_DAYS)
    grace_floor = today - datetime.timedelta(days=settings.GRACE_DAYS)
    last_day_read = max(window_start, today + datetime.timedelta(days=max(ENDING_DAYS)))
    params = {
        "today": today,
        "grace_floor": grace_floor,
        "detail_from": grace_floor.replace(day=1),
        "detail_to": (last_day_read.replace(day=1) + datetime.timedelta(days=32)).replace(day=1),
    }
    with connection.cursor() as cursor:
        cursor.execute(LATEST_TERMS_SQL, params)
        rows = cursor.fetchall()
    by_category, by_days, access = {}, {}, {}
    for category, days, country, by_country, n in rows:
        if by_country:
            if category != "lapsed":
                access[country] = access.get(country, 0) + n
        else:
            by_category[category] = by_category.get(category, 0) + n
            if days is not None:
                by_days[days] = by_days.get(days, 0) + n
    ahead = by_category.get("ahead", 0)
    expiring = sum(n for days, n in by_days.items() if days <= settings.RENEWAL_WINDOW_DAYS)
    statuses = {
        MembershipStatus.ACTIVE: by_category.get("lifetime", 0) + ahead - expiring,
        MembershipStatus.EXPIRING: expiring,
        MembershipStatus.GRACE: by_category.get("grace", 0),
        MembershipStatus.LAPSED: by_category.get("lapsed", 0),
    }
    by_country = sorted(((code, n) for code, n in access.items() if n), key=lambda item: (-item[1], item[0]))
    return statuses, by_days, by_country


def dashboard_figures(today: datetime.date | None = None) -> dict:
    """Every figure of the staff dashboard in a fixed number of queries, each reading an index or the counts of
    members.models.retention rather than every membership, term and order."""
    today = today or society_today()
    counted, by_days, by_country = _latest_terms(today)
    live = Membership.objects.filter(cancelled_at__isnull=True)
    by_status = {
        **counted,
        MembershipStatus.CANCELLED: Membership.objects.filter(cancelled_at__isnull=False).count(),
        # Memberships with no counting term yet (and so no facts).
        MembershipStatus.PENDING: live.filter(current_end__isnull=True, lifetime=False).count(),
    }
    statuses = [(status, by_status[status]) for status in MembershipStatus]

    largest = by_country[0][1] if by_country else 1
    countries_rows = [
        {"code": code, "name": countries.name(code) or code, "count": n, "width": round(100 * n / largest, 1)}
        for code, n in by_country
    ]
    ending = [(limit, sum(n for days, n in by_days.items() if days <= limit)) for limit in ENDING_DAYS]

    # Renewal rate: of the terms that ended in the last 12 months, the share followed by a later term.
    year_ago = today - datetime.timedelta(days=365)
    # Dues by band and by type, per currency: amounts in two currencies are never added together. paid_at from
    # the start of that day in the society's time zone (as paid_at__date would, but on the index).
    since = timezone.make_aware(datetime.datetime.combine(year_ago, datetime.time.min))
    with connection.cursor() as cursor:
        whole_from = (
            year_ago if year_ago.day == 1 else (year_ago.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        )
        whole = {"whole_from": whole_from, "whole_to": today.replace(day=1)}
        cursor.execute(RENEWED_SQL, {"year_ago": year_ago, "today": today, **whole})
        total, renewed = cursor.fetchone()
        cursor.execute(DUES_SQL, {"paid": OrderStatus.PAID.value, "since": since})
        dues_rows_raw = cursor.fetchall()
    renewal = {"total": total, "renewed": renewed, "rate": round(100 * renewed / total, 1) if total else None}

    dues = {(currency, band): (amount, n) for by_band, currency, band, _name, amount, n in dues_rows_raw if by_band}
    currencies = sorted({currency for currency, _band in dues} or {settings.DUES_CURRENCY})
    dues_rows = [
        (band.value, *dues.get((currency, band.value), (0, 0)), currency)
        for currency in currencies
        for band in IncomeBand
    ]
    dues_by_type = sorted(
        (name, amount, n, currency) for by_band, currency, _band, name, amount, n in dues_rows_raw if not by_band
    )
    return {
        "today": today,
        "statuses": statuses,
        "total": sum(n for _status, n in statuses),
        "countries": countries_rows,
        "chart": countries_rows[:CHART_COUNTRIES],
        "chart_height": 22 * len(countries_rows[:CHART_COUNTRIES]) + 10,
        "ending": ending,
        "renewal": renewal,
        "dues": dues_rows,
        "dues_by_type": dues_by_type,
        "dues_totals": [(currency, sum(row[1] for row in dues_rows if row[3] == currency)) for currency in currencies],
    }


def dashboard_figures_cached(*, today: datetime.date, refresh: bool = False):
    """`(figures, computed_at)` from the cache (ten minutes), else computed now. Country names are looked up
    again for each reader, so one entry serves every language."""
    figures, computed_at = cached_figures(
        f"dashboard:{today.isoformat()}", lambda: dashboard_figures(today), refresh=refresh
    )
    for row in figures["countries"]:  # "chart" holds the same rows
        row["name"] = countries.name(row["code"]) or row["code"]
    figures = {**figures, "dues": [(_label(IncomeBand, band), *rest) for band, *rest in figures["dues"]]}
    return figures, computed_at


def _label(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else value or ""


def _person(order: Order) -> list:
    user = order.membership.user
    return [
        order.number,
        user.full_name,
        user.email,
        countries.name(order.country) or str(order.country),
        order.membership_type.name,
        _label(IncomeBand, order.band),
    ]


PERSON_HEADERS = [
    pgettext_lazy("purchase", "order"),
    _("member"),
    _("email"),
    _("country"),
    _("membership type"),
    _("income band"),
]


def accounting_tables(*, start: datetime.date, end: datetime.date) -> dict[str, tuple[list, list[list]]]:
    """What an accountant asks for a period (dates inclusive): money received, refunds, orders issued, and
    totals by method, band and type. Labels, not codes; amounts as Decimal. Each table: (headers, rows)."""
    order_related = ["order__membership__user", "order__membership_type"]
    payments = Payment.objects.filter(received_on__range=(start, end)).select_related(*order_related)
    credit_notes = Refund.objects.filter(refunded_on__range=(start, end)).select_related(*order_related)
    # Orders refunded before refunds had credit notes (or recorded with the bulk action) have no Refund row.
    refunded_orders = Order.objects.filter(status=OrderStatus.REFUNDED, refunded_at__date__range=(start, end)).exclude(
        Exists(Refund.objects.filter(order=OuterRef("pk")))
    )
    orders = Order.objects.filter(created_at__date__range=(start, end))
    payment_rows = [
        [
            payment.received_on,
            *_person(payment.order),
            _label(PaymentMethod, payment.method),
            payment.reference,
            payment.amount,
            payment.currency,
            _label(PaymentReview, payment.review),
        ]
        for payment in payments.order_by("received_on", "pk")
    ]
    refund_rows = [
        [
            refund.refunded_on,
            refund.number,
            *_person(refund.order),
            _label(PaymentMethod, refund.method),
            refund.reference,
            refund.amount,
            refund.currency,
            refund.reason,
        ]
        for refund in credit_notes.order_by("refunded_on", "number")
    ]
    refund_rows += [
        [
            order.refunded_at.date(),
            "",
            *_person(order),
            _label(PaymentProvider, order.provider),
            "",
            order.amount,
            order.currency,
            order.refund_reason,
        ]
        for order in refunded_orders.select_related("membership__user", "membership_type").order_by("refunded_at", "pk")
    ]
    order_rows = [
        [
            order.created_at.date(),
            *_person(order),
            _label(PaymentProvider, order.provider),
            _label(OrderStatus, order.status),
            order.amount,
            order.currency,
            order.paid_at.date() if order.paid_at else "",
            order.price_reason,
        ]
        for order in orders.select_related("membership__user", "membership_type").order_by("created_at", "pk")
    ]
    totals = []
    for title, field, choices in [
        (_("Received by method"), "method", PaymentMethod),
        (_("Received by income band"), "order__band", IncomeBand),
        (_("Received by membership type"), "order__membership_type__name", None),
    ]:
        grouped = payments.order_by().values(field, "currency").annotate(count=Count("pk"), total=Sum("amount"))
        for row in grouped.order_by(field, "currency"):
            key = _label(choices, row[field]) if choices else row[field]
            totals.append([str(title), key, row["count"], row["total"], row["currency"]])
    # Refunds with a credit note by their own field; older refunded orders by the order's (`legacy_field`).
    for title, field, choices, legacy_field, legacy_choices in [
        (_("Refunded by method"), "method", PaymentMethod, "provider", PaymentProvider),
        (_("Refunded by income band"), "order__band", IncomeBand, "band", IncomeBand),
        (_("Refunded by membership type"), "order__membership_type__name", None, "membership_type__name", None),
    ]:
        summed = {}  # (label, currency) -> [count, total]: one line even when both kinds share a label
        for rows, key_field, key_choices in [
            (credit_notes, field, choices),
            (refunded_orders, legacy_field, legacy_choices),
        ]:
            grouped = rows.order_by().values(key_field, "currency").annotate(count=Count("pk"), total=Sum("amount"))
            for row in grouped:
                key = _label(key_choices, row[key_field]) if key_choices else row[key_field]
                line = summed.setdefault((key, row["currency"]), [0, Decimal("0")])
                line[0] += row["count"]
                line[1] += row["total"]
        for (key, currency), (count, total) in sorted(summed.items()):
            totals.append([str(title), key, count, total, currency])
    return {
        "payments": (
            [
                _("date received"),
                *PERSON_HEADERS,
                _("method"),
                _("reference"),
                _("amount"),
                _("currency"),
                _("to review"),
            ],
            payment_rows,
        ),
        "refunds": (
            [
                _("date refunded"),
                _("credit note"),
                *PERSON_HEADERS,
                _("method"),
                _("reference"),
                _("amount"),
                _("currency"),
                _("reason"),
            ],
            refund_rows,
        ),
        "orders": (
            [
                _("date created"),
                *PERSON_HEADERS,
                _("payment method"),
                _("status"),
                _("amount"),
                _("currency"),
                _("date paid"),
                _("reason for the price"),
            ],
            order_rows,
        ),
        "totals": ([_("total"), _("of"), _("count"), _("amount"), _("currency")], totals),
    }


MEMBERSHIP_CSV_HEADER = [
    "email",
    "full name",
    "country",
    "band",
    "type",
    "status",
    "term end date",
    "last order",
    "ORCID",
]


def membership_export_rows(queryset, chunk_size: int = 2000):
    """Labelled CSV rows of `queryset` (a changelist queryset, in its own order), read in chunks.

    The changelist's band, type and last-order columns are subqueries run once per row; over 500,000 rows
    they were most of an export's time. Here each chunk of rows gets its types and last orders in two
    queries, and the bands come from the country table read once: the same values, about three times faster.
    """
    rows = queryset.values_list(
        "pk", "user__email", "user__full_name", "user__country", "status", "last_end", "lifetime", "user__orcid"
    ).iterator(chunk_size=chunk_size)
    band_of = dict(CountryBand.objects.values_list("country", "band"))
    while chunk := list(itertools.islice(rows, chunk_size)):
        ids = [row[0] for row in chunk]
        type_of = dict(
            Term.objects.counting()
            .filter(_among(ids))
            .order_by("membership_id", "-end")
            .distinct("membership_id")
            .values_list("membership_id", "membership_type__name")
        )
        last_order_of = dict(
            Order.objects.filter(_among(ids))
            .order_by("membership_id", "-created_at")
            .distinct("membership_id")
            .values_list("membership_id", "number")
        )
        yield from _labelled(
            (
                email,
                name,
                country,
                band_of.get(country),
                type_of.get(pk),
                status,
                end,
                lifetime,
                last_order_of.get(pk),
                orcid,
            )
            for pk, email, name, country, status, end, lifetime, orcid in chunk
        )


def _among(ids: list[int]) -> RawSQL:
    """membership_id = ANY(array): one parameter, where `__in` prepares 2,000 values one by one in Python."""
    return RawSQL("membership_id = ANY(%s)", (ids,), output_field=BooleanField())


@functools.cache
def _country_name(code: str, language: str) -> str:
    return countries.name(code) or code


def _labelled(rows):
    """Staff and accountants read names, not codes: "Kenya", "Lower-middle income", "Expiring"."""
    # Labels are lazy: translated once here, not once per cell (that was a third of a large export's time).
    bands = {value: str(label) for value, label in IncomeBand.choices}
    statuses = {value: str(label) for value, label in MembershipStatus.choices}
    lifetime_label = str(_("Lifetime"))
    language = get_language()
    for email, name, country, band, type_name, status, last_end, lifetime, last_order, orcid in rows:
        yield [
            email,
            name,
            _country_name(country, language),
            bands.get(band, band or ""),
            type_name,
            statuses.get(status, status),
            lifetime_label if lifetime else last_end,
            last_order,
            orcid,
        ]
