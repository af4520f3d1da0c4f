"""The staff dashboard's figures: every one in a fixed number of queries, each reading an index or the counts of
members.models.retention rather than every membership, term and order (seconds at 500,000 members)."""

import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_countries import countries

from members.models import IncomeBand, Membership, MembershipStatus, OrderStatus
from members.models.memberships import society_today
from society.cache import cached_figures

CHART_COUNTRIES = 25  # the chart shows the largest; the table below it lists every country


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
# Dues of the last year by band and by type: whole days (UTC) from DuesCount, the part day before them (the
# year starts at midnight in the society's time zone) from the orders themselves.
DUES_SQL = """
    SELECT GROUPING(d.band) = 0 AS by_band, d.currency, d.band, mt.name, SUM(d.amount), SUM(d.n) FROM (
        SELECT c.currency, c.band, c.membership_type_id, c.amount, c.n FROM members_duescount c
        WHERE c.paid_on >= %(whole_from)s
        UNION ALL
        SELECT o.currency, o.band, o.membership_type_id, o.amount, 1 FROM members_order o
        WHERE o.status = %(paid)s AND o.paid_at >= %(since)s AND o.paid_at < %(whole_from_at)s
    ) d
    JOIN members_membershiptype mt ON mt.id = d.membership_type_id
    GROUP BY GROUPING SETS ((d.currency, d.band), (d.currency, mt.name))
    HAVING SUM(d.n) <> 0
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
        since_utc = since.astimezone(datetime.UTC)
        whole_from = since_utc.date() + datetime.timedelta(days=0 if since_utc.time() == datetime.time.min else 1)
        whole_from_at = datetime.datetime.combine(whole_from, datetime.time.min, tzinfo=datetime.UTC)
        dues_params = {"since": since, "whole_from": whole_from, "whole_from_at": whole_from_at}
        cursor.execute(DUES_SQL, {"paid": OrderStatus.PAID.value, **dues_params})
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
    bands = dict(IncomeBand.choices)
    figures = {**figures, "dues": [(str(bands.get(band, band or "")), *rest) for band, *rest in figures["dues"]]}
    return figures, computed_at
