"""The Retention page's and the dashboard's figures as the portal computed them before members.models.retention's
facts: every panel walked from members_term itself with window functions, every dashboard figure from the
memberships, terms and orders (seconds at 500,000 members). Kept as the plain-SQL ground truth the figures read
from the facts and counts must equal on any population."""

import datetime

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Sum
from django_countries import countries

from members.models import IncomeBand, Membership, MembershipStatus, Order, Term
from members.selectors import CHART_COUNTRIES
from members.selectors.retention import COHORT_ROWS, COHORT_YEARS, RetentionFilter, _rate, _rows, renewal_figures

_MEMBERS = """
    JOIN members_membership ms ON ms.id = {membership_id}
    JOIN members_user u ON u.id = ms.user_id
    LEFT JOIN members_countryband cb ON cb.country = u.country
"""
# Each filter is a constant test when it is not chosen ('' = ''), which Postgres folds away before planning.
_COUNTRY_BAND_FILTERS = """(%(country)s = '' OR u.country = %(country)s) AND (%(band)s = '' OR cb.band = %(band)s)"""
_MEMBER_FILTERS = """
    (%(country)s = '' OR u.country = %(country)s)
    AND (%(band)s = '' OR cb.band = %(band)s)
    AND (%(join_year)s = 0 OR %(join_year)s = (
        SELECT EXTRACT(YEAR FROM MIN(f.start)) FROM members_term f WHERE f.membership_id = ms.id AND f.voided_at IS NULL
    ))
"""
# Every counting term with the start of the next one and whether it is the first. Counting terms of a membership
# never overlap, so ordered by end they are ordered by start too; a lifetime term (no end) sorts first in
# DESC order, as the latest. One pass over the terms with window functions: a correlated EXISTS per term was
# fifteen times slower at 20,000 members.
_TERMS = """
    WITH x AS (
        SELECT t."end", t.membership_id, t.membership_type_id,
            LAG(t.start) OVER w AS next_start,
            LEAD(t.start) OVER w IS NULL AS first
        FROM members_term t WHERE t.voided_at IS NULL AND __MEMBERS__
        WINDOW w AS (PARTITION BY t.membership_id ORDER BY t."end" DESC NULLS FIRST)
    ), y AS (
        SELECT x.*, COALESCE(x.next_start <= x."end" + %(grace)s, false) AS renewed FROM x
    )
"""


RENEWAL_SQL = f"""
    {_TERMS}
    SELECT date_trunc('month', t."end")::date AS month,
        COUNT(*) AS ended,
        COUNT(*) FILTER (WHERE t.renewed) AS renewed,
        COUNT(*) FILTER (WHERE NOT t.renewed AND t."end" >= %(grace_floor)s) AS undecided,
        COUNT(*) FILTER (WHERE t.first) AS first_ended,
        COUNT(*) FILTER (WHERE t.first AND t.renewed) AS first_renewed,
        COUNT(*) FILTER (WHERE t.first AND NOT t.renewed AND t."end" >= %(grace_floor)s) AS first_undecided
    FROM y t
    JOIN members_membershiptype mt ON mt.id = t.membership_type_id
    WHERE t."end" >= %(prior_start)s AND t."end" <= %(end)s AND t."end" < %(today)s
      AND (%(type)s = '' OR mt.slug = %(type)s)
    GROUP BY 1 ORDER BY 1
"""


_FIRST_TERMS = """
    WITH j AS (
        SELECT DISTINCT ON (membership_id) membership_id, start AS joined, membership_type_id
        FROM members_term WHERE voided_at IS NULL ORDER BY membership_id, start
    )
"""


def _anniversary(n: int) -> str:
    return f"(j.joined + interval '{n} years')::date"


def _cohort_columns(n: int) -> str:
    due = f"{_anniversary(n)} <= %(today)s"
    # Counting terms never overlap, so at most one term of a member covers a day: counting the covering terms
    # counts the members, with no second grouping by member.
    covers = f"""j.start <= {_anniversary(n)} AND COALESCE(j."end", 'infinity') >= {_anniversary(n)}"""
    return (
        f"COUNT(*) FILTER (WHERE j.first AND {due}) AS due_{n}, COUNT(*) FILTER (WHERE {due} AND {covers}) AS kept_{n}"
    )


# Each term with its member's join date and first type, from one pass over the terms in the order of the
# term_membership_end index (latest first, so the first term is the partition's last row).
COHORT_SQL = f"""
    WITH j AS (
        SELECT t.membership_id, t.start, t."end",
            LAST_VALUE(t.start) OVER w AS joined,
            LAST_VALUE(t.membership_type_id) OVER w AS membership_type_id,
            LAST_VALUE(t.start) OVER w = t.start AS first
        FROM members_term t WHERE t.voided_at IS NULL AND __COHORT_MEMBERS__
        WINDOW w AS (
            PARTITION BY t.membership_id ORDER BY t."end" DESC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        )
    )
    SELECT EXTRACT(YEAR FROM j.joined)::int AS year, COUNT(*) FILTER (WHERE j.first) AS members,
        {", ".join(_cohort_columns(n) for n in COHORT_YEARS)}
    FROM j
    JOIN members_membershiptype mt ON mt.id = j.membership_type_id
    WHERE j.joined >= %(first_year_start)s AND j.joined <= %(last_year_end)s
      AND (%(type)s = '' OR mt.slug = %(type)s)
    GROUP BY 1 ORDER BY 1
"""


def cohort_figures(rows: list[dict]) -> list[dict]:
    return [
        {
            "year": row["year"],
            "members": row["members"],
            "cells": [
                {
                    "years": n,
                    "due": row[f"due_{n}"],
                    "kept": row[f"kept_{n}"],
                    "rate": _rate(row[f"kept_{n}"], row[f"due_{n}"]),
                }
                for n in COHORT_YEARS
            ],
        }
        for row in rows
    ]


ATTRITION_SQL = f"""
    {_TERMS}
    SELECT GROUPING(cb.band) = 0 AS by_band, GROUPING(u.country) = 0 AS by_country, GROUPING(mt.slug) = 0 AS by_type,
        cb.band, u.country, mt.slug, mt.name,
        COUNT(*) FILTER (WHERE t.renewed OR t."end" < %(grace_floor)s) AS decided,
        COUNT(*) FILTER (WHERE NOT t.renewed AND t."end" < %(grace_floor)s) AS lapsed
    FROM y t
    JOIN members_membershiptype mt ON mt.id = t.membership_type_id
    {_MEMBERS.format(membership_id="t.membership_id")}
    WHERE t."end" >= %(start)s AND t."end" <= %(end)s AND t."end" < %(today)s
      AND (%(type)s = '' OR mt.slug = %(type)s)
    GROUP BY GROUPING SETS ((cb.band), (u.country), (mt.slug, mt.name))
"""


def attrition_figures(rows: list[dict]) -> dict:
    """Lapsed terms of the period by band, country and type; largest count first."""
    groups = {"band": [], "country": [], "type": []}
    for row in rows:
        group = "band" if row["by_band"] else "country" if row["by_country"] else "type"
        key = {"band": row["band"] or "", "country": row["country"] or "", "type": row["slug"]}[group]
        groups[group].append(
            {
                "key": key,
                "name": row["name"] if group == "type" else "",
                "decided": row["decided"],
                "lapsed": row["lapsed"],
                "rate": _rate(row["lapsed"], row["decided"]),
            }
        )
    for rows_ in groups.values():
        rows_.sort(key=lambda item: (-item["lapsed"], item["key"]))
    return groups


NEW_MEMBERS_SQL = f"""
    {_FIRST_TERMS}
    SELECT ms.source, COUNT(*) AS members
    FROM j
    JOIN members_membershiptype mt ON mt.id = j.membership_type_id
    {_MEMBERS.format(membership_id="j.membership_id")}
    WHERE j.joined >= %(start)s AND j.joined <= %(end)s
      AND (%(type)s = '' OR mt.slug = %(type)s)
      AND {_COUNTRY_BAND_FILTERS}
      AND (%(join_year)s = 0 OR EXTRACT(YEAR FROM j.joined) = %(join_year)s)
    GROUP BY 1 ORDER BY 1
"""

AT_RISK_SQL = f"""
    SELECT COUNT(*) AS members
    FROM members_membership ms
    JOIN members_user u ON u.id = ms.user_id
    LEFT JOIN members_countryband cb ON cb.country = u.country
    WHERE ms.cancelled_at IS NULL AND NOT ms.lifetime
      AND ms.current_end >= %(today)s AND ms.current_end <= %(window_end)s
      AND (%(type)s = '' OR %(type)s = (
          SELECT mt.slug FROM members_term t JOIN members_membershiptype mt ON mt.id = t.membership_type_id
          WHERE t.membership_id = ms.id AND t.voided_at IS NULL ORDER BY t."end" DESC LIMIT 1
      ))
      AND {_MEMBER_FILTERS}
      AND (u.last_login IS NULL OR u.last_login < (
          SELECT MAX(t.created_at) FROM members_term t WHERE t.membership_id = ms.id AND t.voided_at IS NULL
      ))
      AND NOT EXISTS (SELECT 1 FROM members_order o WHERE o.membership_id = ms.id AND o.status = %(pending)s)
"""


_MEMBER_IDS = """t.membership_id IN (
    SELECT ms.id FROM members_membership ms
    JOIN members_user u ON u.id = ms.user_id
    LEFT JOIN members_countryband cb ON cb.country = u.country
    WHERE {filters}
)"""


def _sql(sql: str, chosen: RetentionFilter) -> str:
    """The chosen members are picked before the terms are walked (a window partition is one member's terms, so
    leaving other members out changes nothing for the rest): a filtered view reads fewer terms, not more."""
    members = cohort_members = "true"
    if chosen.country or chosen.band or chosen.join_year:
        members = _MEMBER_IDS.format(filters=_MEMBER_FILTERS)
    if chosen.country or chosen.band:  # the cohort query chooses join years itself
        cohort_members = _MEMBER_IDS.format(filters=_COUNTRY_BAND_FILTERS)
    return sql.replace("__MEMBERS__", members).replace("__COHORT_MEMBERS__", cohort_members)


def reference_figures(chosen: RetentionFilter, *, today: datetime.date) -> dict:
    # The reference SQL reads the band by name; the page passes its countries.
    params = {**chosen.params(today), "band": chosen.band, "join_year": chosen.join_year or 0}
    if chosen.join_year:
        first_year = last_year = chosen.join_year
    else:
        last_year = chosen.end.year
        first_year = last_year - COHORT_ROWS + 1
    cohort_params = {
        **params,
        "first_year_start": datetime.date(first_year, 1, 1),
        "last_year_end": datetime.date(last_year, 12, 31),
    }
    return {
        "renewal": renewal_figures(_rows(_sql(RENEWAL_SQL, chosen), params), start=chosen.start, end=chosen.end),
        "cohorts": cohort_figures(_rows(_sql(COHORT_SQL, chosen), cohort_params)),
        "attrition": attrition_figures(_rows(_sql(ATTRITION_SQL, chosen), params)),
        "new_members": {row["source"]: row["members"] for row in _rows(NEW_MEMBERS_SQL, params)},
        "at_risk": _rows(AT_RISK_SQL, params)[0]["members"],
    }


def reference_dashboard(today: datetime.date) -> dict:
    """The staff dashboard as it was computed before the facts: from memberships, terms and orders."""
    memberships = Membership.objects.with_status(today)
    by_status = dict(memberships.order_by().values_list("status").annotate(n=Count("id")))
    statuses = [(status, by_status.get(status.value, 0)) for status in MembershipStatus]

    with_access = Membership.objects.with_access(today).order_by()
    by_country = list(with_access.values_list("user__country").annotate(n=Count("id")).order_by("-n", "user__country"))
    largest = by_country[0][1] if by_country else 1
    countries_rows = [
        {"code": code, "name": countries.name(code) or code, "count": n, "width": round(100 * n / largest, 1)}
        for code, n in by_country
    ]

    last_ends = Membership.objects.with_last_end().filter(cancelled_at__isnull=True, lifetime=False).order_by()
    ending = [
        (days, last_ends.filter(last_end__gte=today, last_end__lte=today + datetime.timedelta(days=days)).count())
        for days in (30, 60, 90)
    ]

    # Renewal rate: of the terms that ended in the last 12 months, the share followed by a later term.
    year_ago = today - datetime.timedelta(days=365)
    later = Term.objects.counting().filter(membership=OuterRef("membership"), start__gt=OuterRef("end"))
    ended = Term.objects.counting().filter(end__gte=year_ago, end__lt=today)
    renewal = {"total": ended.count(), "renewed": ended.filter(Exists(later)).count()}
    renewal["rate"] = round(100 * renewal["renewed"] / renewal["total"], 1) if renewal["total"] else None

    # Dues by band and by type, per currency: amounts in two currencies are never added together.
    paid = Order.objects.paid().filter(paid_at__date__gte=year_ago).order_by()
    by_band = paid.values_list("currency", "band").annotate(Sum("amount"), Count("id"))
    dues = {(currency, band): (total, n) for currency, band, total, n in by_band}
    currencies = sorted({currency for currency, _band in dues} or {settings.DUES_CURRENCY})
    dues_rows = [
        (band.value, *dues.get((currency, band.value), (0, 0)), currency)
        for currency in currencies
        for band in IncomeBand
    ]
    by_type = paid.values_list("currency", "membership_type__name").annotate(Sum("amount"), Count("id"))
    dues_by_type = sorted((name, total, n, currency) for currency, name, total, n in by_type)
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
