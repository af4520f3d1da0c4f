"""The retention figures staff read on the admin's Retention page, in SQL, whatever the number of members: whole
months from the counts of members.models.retention (RenewalCount, CohortCount), the days around today from its
facts (TermFact), so no figure reads every term (at 500,000 members a tenth of a second, not seconds). Cached
for ten minutes, the unfiltered page warmed by beat (services.retention).

Definitions (the ones membership associations use, written down because every figure depends on them):
- A term *ended* on its end date; terms that have not ended yet (or never end, lifetime) are not counted.
- A term was *renewed* when the member's next counting term starts by the end of the grace period
  (end + GRACE_DAYS). A renewal paid in time continues from the old end (next_term_start), one paid later
  starts on the payment day, so the next term's start tells which it was.
- A term ended less than GRACE_DAYS ago and not renewed yet is *undecided*: it is left out of the rate.
- A *first-year* term is the membership's first counting term.
- A member *joined* on the start of their first counting term; a cohort is everyone who joined in a year,
  and *still active after N years* means a counting term covers the N-th anniversary of joining.
- Filters: country; band by the member's country (CountryBand); the type of the term a figure is about (the
  ended term, the first term for cohorts and new members, the current one for members at risk); join year.
"""

import datetime
import hashlib
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import OperationalError, connection, transaction
from psycopg2.errors import QueryCanceled

from members.models import CountryBand, MembershipType, OrderStatus
from members.models.retention import MAX_GAP
from society.cache import cached_figures

COHORT_YEARS = (1, 2, 3, 5)
COHORT_ROWS = 10  # join years shown when no join year is chosen


class FiguresTooSlow(Exception):
    """The figures took longer than RETENTION_STATEMENT_TIMEOUT_MS; nothing was cached."""


@dataclass(frozen=True)
class RetentionFilter:
    """What staff chose: whole months from `start` (first day) to `end` (last day), and the member filters."""

    start: datetime.date
    end: datetime.date
    membership_type: str = ""  # a MembershipType slug
    band: str = ""
    country: str = ""
    join_year: int | None = None
    window_days: int = 90  # at risk: the term ends within this many days (the form's default: RENEWAL_WINDOW_DAYS)

    def params(self, today: datetime.date) -> dict:
        grace_floor = today - datetime.timedelta(days=settings.GRACE_DAYS)
        return {
            "start": self.start,
            "end": self.end,
            "prior_start": self.start - relativedelta(years=1),
            "today": today,
            "grace": settings.GRACE_DAYS,
            "grace_floor": grace_floor,
            "type": self.membership_type,
            "band": self.band and list(CountryBand.objects.filter(band=self.band).values_list("country", flat=True)),
            "country": self.country,
            "join_start": datetime.date(self.join_year, 1, 1) if self.join_year else None,
            "join_next": datetime.date(self.join_year + 1, 1, 1) if self.join_year else None,
            "window_end": today + datetime.timedelta(days=self.window_days),
            # Months before the grace floor's month are read from RenewalCount (every term in them is decided).
            "counted_until": max(self.start - relativedelta(years=1), grace_floor.replace(day=1)),
            "pending": OrderStatus.PENDING.value,
        }


def default_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The twelve months up to and including the current one."""
    end = today.replace(day=1) + relativedelta(months=1, days=-1)
    return today.replace(day=1) - relativedelta(months=11), end


def _rows(sql: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _filters(chosen: "RetentionFilter", alias: str = "f", joined: str = "joined") -> str:
    """The member filters on the facts or counts `alias`, each only when chosen, so the planner sees the plain
    query and picks the index of the filter (country, join year) or of the period."""
    filters = []
    if chosen.membership_type:
        filters.append(f"{alias}.membership_type_id = (SELECT id FROM members_membershiptype WHERE slug = %(type)s)")
    if chosen.country:
        filters.append(f"{alias}.country = %(country)s")
    if chosen.band:
        # The band's countries as a list: behind a subquery Postgres misjudged the rows (630 -> 160 ms at 500,000).
        filters.append(f"{alias}.country = ANY(%(band)s)")
    if chosen.join_year:
        filters.append(f"{alias}.{joined} >= %(join_start)s AND {alias}.{joined} < %(join_next)s")
    return "".join(f" AND {condition}" for condition in filters)


# Renewal rates by month (this period and the year before) and attrition by country and type (this period),
# in one read: by day, summed into months here, because "undecided" and "ended before today" need the day; by
# country, from which the bands are summed here (a band is a property of the country, read from CountryBand
# when the figures are computed, as the changelist does). Months before `counted_until` come from
# RENEWAL_COUNTS_SQL instead, when it can answer: then only the last month or two are read term by term.
_RENEWED = 'COALESCE(f.next_start <= f."end" + %(grace)s, false)'
_DECIDED = f'({_RENEWED} OR f."end" < %(grace_floor)s)'
_UNDECIDED = f'(NOT {_RENEWED} AND f."end" >= %(grace_floor)s)'
_IN_PERIOD = 'f."end" >= %(start)s'
RENEWAL_SQL = f"""
    SELECT f."end" AS day, f.country, f.membership_type_id AS type_id,
        GROUPING(f."end") = 0 AS by_day, GROUPING(f.country) = 0 AS by_country,
        COUNT(*) AS ended,
        COUNT(*) FILTER (WHERE {_RENEWED}) AS renewed,
        COUNT(*) FILTER (WHERE {_UNDECIDED}) AS undecided,
        COUNT(*) FILTER (WHERE f.first) AS first_ended,
        COUNT(*) FILTER (WHERE f.first AND {_RENEWED}) AS first_renewed,
        COUNT(*) FILTER (WHERE f.first AND {_UNDECIDED}) AS first_undecided,
        COUNT(*) FILTER (WHERE {_IN_PERIOD}) AS in_period,
        COUNT(*) FILTER (WHERE {_IN_PERIOD} AND {_DECIDED}) AS decided,
        COUNT(*) FILTER (WHERE {_IN_PERIOD} AND NOT {_RENEWED} AND f."end" < %(grace_floor)s) AS lapsed
    FROM members_termfact f
    WHERE f."end" >= %(counted_until)s AND f."end" <= %(end)s AND f."end" < %(today)s __FILTERS__
    GROUP BY GROUPING SETS ((f."end"), (f.country), (f.membership_type_id))
"""
# The same figures from the counts, for months that ended before the grace floor's month: every term there is
# decided, and ended before today.
_COUNT_RENEWED = "r.gap <= %(grace)s"
RENEWAL_COUNTS_SQL = f"""
    SELECT r.end_month AS day, r.country, r.membership_type_id AS type_id,
        GROUPING(r.end_month) = 0 AS by_day, GROUPING(r.country) = 0 AS by_country,
        COALESCE(SUM(r.n), 0) AS ended,
        COALESCE(SUM(r.n) FILTER (WHERE {_COUNT_RENEWED}), 0) AS renewed,
        0 AS undecided,
        COALESCE(SUM(r.n) FILTER (WHERE r.first), 0) AS first_ended,
        COALESCE(SUM(r.n) FILTER (WHERE r.first AND {_COUNT_RENEWED}), 0) AS first_renewed,
        0 AS first_undecided,
        COALESCE(SUM(r.n) FILTER (WHERE r.end_month >= %(start)s), 0) AS in_period,
        COALESCE(SUM(r.n) FILTER (WHERE r.end_month >= %(start)s), 0) AS decided,
        COALESCE(SUM(r.n) FILTER (WHERE r.end_month >= %(start)s AND NOT COALESCE({_COUNT_RENEWED}, false)), 0)
            AS lapsed
    FROM members_renewalcount r
    WHERE r.end_month >= %(prior_start)s AND r.end_month <= %(end)s AND r.end_month < %(counted_until)s __FILTERS__
    GROUP BY GROUPING SETS ((r.end_month), (r.country), (r.membership_type_id))
"""
_MONTH_COUNTS = ("ended", "renewed", "undecided", "first_ended", "first_renewed", "first_undecided")


def renewal_by_month(rows: list[dict]) -> list[dict]:
    """The by-day rows of RENEWAL_SQL summed into months."""
    months = {}
    for row in rows:
        if row["by_day"]:
            month = months.setdefault(row["day"].replace(day=1), dict.fromkeys(_MONTH_COUNTS, 0))
            for name in _MONTH_COUNTS:
                month[name] += row[name]
    return [{"month": month, **counts} for month, counts in sorted(months.items())]


def _renewal_summary(rows: list[dict], prefix: str = "") -> dict:
    ended = sum(row[f"{prefix}ended"] for row in rows)
    renewed = sum(row[f"{prefix}renewed"] for row in rows)
    undecided = sum(row[f"{prefix}undecided"] for row in rows)
    decided = ended - undecided
    return {
        "ended": ended,
        "renewed": renewed,
        "undecided": undecided,
        "decided": decided,
        "rate": _rate(renewed, decided),
    }


def renewal_figures(rows: list[dict], *, start: datetime.date, end: datetime.date) -> dict:
    """The period's months, each beside the same month a year earlier, and both totals, for all terms and for
    first-year terms."""
    by_month = {row["month"]: row for row in rows}
    months, month = [], start
    while month <= end:
        row = by_month.get(month, {})
        prior = by_month.get(month - relativedelta(years=1), {})
        months.append(
            {
                "month": month,
                "all": _renewal_summary([row] if row else []),
                "first": _renewal_summary([row] if row else [], "first_"),
                "prior": _renewal_summary([prior] if prior else []),
                "prior_first": _renewal_summary([prior] if prior else [], "first_"),
            }
        )
        month += relativedelta(months=1)
    current = [row for row in rows if start <= row["month"] <= end]
    earlier = [row for row in rows if start - relativedelta(years=1) <= row["month"] <= end - relativedelta(years=1)]
    return {
        "months": months,
        "all": _renewal_summary(current),
        "first": _renewal_summary(current, "first_"),
        "prior": _renewal_summary(earlier),
        "prior_first": _renewal_summary(earlier, "first_"),
    }


def _cohort_columns(n: int) -> str:
    # The same anniversary date the facts' `anniversaries` bits were computed for (members_termfact_source).
    due = f"(f.joined + interval '{n} years')::date <= %(today)s AND {_IN_COHORTS}"
    kept = f"{due} AND f.anniversaries & {1 << n} <> 0"
    return f"COUNT(*) FILTER (WHERE {due}) AS due_{n}, COUNT(*) FILTER (WHERE {kept}) AS kept_{n}"


def _cohort_count_columns(n: int) -> str:
    # Whole months only: the month holding the last due join date is read term by term (COHORT_SQL).
    due = f"c.joined_month < %(boundary_{n})s AND {_IN_COHORTS.replace('f.joined', 'c.joined_month')}"
    kept = f"{due} AND c.anniversaries & {1 << n} <> 0"
    return (
        f"COALESCE(SUM(c.n) FILTER (WHERE {due}), 0) AS due_{n},"
        f" COALESCE(SUM(c.n) FILTER (WHERE {kept}), 0) AS kept_{n}"
    )


# Cohorts by join year and new members of the period by source, in one read of the members' first terms (the
# period lies within the cohort years, or just before them when a ten-year period starts mid-year): from the
# counts by join month, but for the months in which an anniversary falls due today, read term by term.
_IN_COHORTS = "f.joined >= %(first_year_start)s AND f.joined <= %(last_year_end)s"
_JOINED_IN_REACH = (
    "f.joined >= LEAST(%(first_year_start)s, %(start)s) AND f.joined <= GREATEST(%(last_year_end)s, %(end)s)"
)
# One index range per boundary month (an OR of ranges became a bitmap scan reading every row's page).
_BOUNDARY_MONTHS = " UNION ALL ".join(
    f"""SELECT f.joined, f.source, f.anniversaries FROM members_termfact f
    WHERE f.first AND f.joined >= %(boundary_{n})s AND f.joined < %(boundary_{n}_next)s __FILTERS__"""
    for n in COHORT_YEARS
)
COHORT_SQL = f"""
    SELECT EXTRACT(YEAR FROM f.joined)::int AS year, f.source, GROUPING(f.source) = 0 AS by_source,
        COUNT(*) FILTER (WHERE {_IN_COHORTS}) AS members,
        {", ".join(_cohort_columns(n) for n in COHORT_YEARS)},
        COUNT(*) FILTER (WHERE f.joined >= %(start)s AND f.joined <= %(end)s) AS new_members
    FROM ({_BOUNDARY_MONTHS}) f
    WHERE {_JOINED_IN_REACH}
    GROUP BY GROUPING SETS ((EXTRACT(YEAR FROM f.joined)::int), (f.source))
"""
COHORT_COUNTS_SQL = f"""
    SELECT EXTRACT(YEAR FROM c.joined_month)::int AS year, c.source, GROUPING(c.source) = 0 AS by_source,
        COALESCE(SUM(c.n) FILTER (WHERE {_IN_COHORTS.replace("f.joined", "c.joined_month")}), 0) AS members,
        {", ".join(_cohort_count_columns(n) for n in COHORT_YEARS)},
        COALESCE(SUM(c.n) FILTER (WHERE c.joined_month >= %(start)s AND c.joined_month <= %(end)s), 0) AS new_members
    FROM members_cohortcount c
    WHERE {_JOINED_IN_REACH.replace("f.joined", "c.joined_month")}
      AND {" AND ".join(f"c.joined_month <> %(boundary_{n})s" for n in COHORT_YEARS)} __FILTERS__
    GROUP BY GROUPING SETS ((EXTRACT(YEAR FROM c.joined_month)::int), (c.source))
"""


def last_due_join(today: datetime.date, years: int) -> datetime.date:
    """The latest join date whose `years`-th anniversary (as Postgres adds years: 29 February + 1 year is
    28 February) is on or before today."""
    day = today - relativedelta(years=years)
    while (day + datetime.timedelta(days=1)) + relativedelta(years=years) <= today:
        day += datetime.timedelta(days=1)
    return day


def _summed(rows: list[dict], key, counts) -> list[dict]:
    """Rows with the same key (from the counts and from the terms) added up in the columns `counts`."""
    summed = {}
    for row in rows:
        total = summed.setdefault(key(row), {**row, **dict.fromkeys(counts, 0)})
        total.update({name: total[name] + row[name] for name in counts})
    return list(summed.values())


_COHORT_COUNTS = ("members", *(f"{kind}_{n}" for n in COHORT_YEARS for kind in ("due", "kept")), "new_members")


def cohort_figures(rows: list[dict]) -> list[dict]:
    """The join-year rows of COHORT_SQL with anyone in them, oldest first."""
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
        for row in sorted(rows, key=lambda row: row["year"] or 0)
        if not row["by_source"] and row["members"]
    ]


def attrition_figures(rows: list[dict], *, band_of: dict[str, str], types: dict[int, tuple[str, str]]) -> dict:
    """Lapsed terms of the period by band, country and type; largest count first. `band_of` maps countries to
    bands (a country without one is band ""), `types` type ids to (slug, name)."""
    groups = {"band": {}, "country": {}, "type": {}}
    for row in rows:
        if row["by_day"] or not row["in_period"]:
            continue  # a country or type with terms ended only in the year before the period is not listed
        if row["by_country"]:
            keys = [("country", row["country"] or "", ""), ("band", band_of.get(row["country"], ""), "")]
        else:
            slug, name = types[row["type_id"]]
            keys = [("type", slug, name)]
        for group, key, name in keys:
            item = groups[group].setdefault(key, {"key": key, "name": name, "decided": 0, "lapsed": 0})
            item["decided"] += row["decided"]
            item["lapsed"] += row["lapsed"]
    result = {}
    for group, items in groups.items():
        result[group] = sorted(
            ({**item, "rate": _rate(item["lapsed"], item["decided"])} for item in items.values()),
            key=lambda item: (-item["lapsed"], item["key"]),
        )
    return result


# Each membership's latest counting term (next_start IS NULL) ending within the window: its membership is not
# lifetime (a lifetime term would be the latest) and its current_end is that end.
AT_RISK_SQL = """
    SELECT COUNT(*) AS members
    FROM members_termfact f
    WHERE f.next_start IS NULL AND f."end" >= %(today)s AND f."end" <= %(window_end)s __FILTERS__
      AND NOT f.cancelled
      AND (f.last_login IS NULL OR f.last_login < f.last_written)
      AND NOT EXISTS (SELECT 1 FROM members_order o WHERE o.membership_id = f.membership_id AND o.status = %(pending)s)
"""


def retention_figures(chosen: RetentionFilter, *, today: datetime.date) -> dict:
    """Every panel of the Retention page as plain numbers and codes (labels are the template's business, so
    the result can be cached once for every language)."""
    params = chosen.params(today)
    if chosen.join_year:
        first_year = last_year = chosen.join_year
    else:
        last_year = chosen.end.year
        first_year = last_year - COHORT_ROWS + 1
    boundaries = {n: last_due_join(today, n).replace(day=1) for n in COHORT_YEARS}
    cohort_params = {
        **params,
        # The month of the last join date due for each anniversary: read term by term, the rest from the counts.
        **{f"boundary_{n}": month for n, month in boundaries.items()},
        **{f"boundary_{n}_next": month + relativedelta(months=1) for n, month in boundaries.items()},
        "first_year_start": datetime.date(first_year, 1, 1),
        "last_year_end": datetime.date(last_year, 12, 31),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # No JIT compilation for these statements (a tenth of a second each, for queries that run once).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL statement_timeout = %s", [int(settings.RETENTION_STATEMENT_TIMEOUT_MS)])
        try:
            return _panels(chosen, params, cohort_params)
        except OperationalError as error:
            if isinstance(error.__cause__, QueryCanceled):
                raise FiguresTooSlow from error
            raise


def _panels(chosen: RetentionFilter, params: dict, cohort_params: dict) -> dict:
    filters = _filters(chosen)
    # The counts have no join year per term, and keep the days to the next term up to MAX_GAP only.
    if not chosen.join_year and settings.GRACE_DAYS < MAX_GAP:
        renewal_rows = _rows(RENEWAL_COUNTS_SQL.replace("__FILTERS__", _filters(chosen, "r")), params)
    else:
        renewal_rows, params = [], {**params, "counted_until": params["prior_start"]}
    renewal_rows += _rows(RENEWAL_SQL.replace("__FILTERS__", filters), params)
    cohort_rows = _summed(
        _rows(COHORT_COUNTS_SQL.replace("__FILTERS__", _filters(chosen, "c", "joined_month")), cohort_params)
        + _rows(COHORT_SQL.replace("__FILTERS__", filters), cohort_params),
        key=lambda row: (row["by_source"], row["year"], row["source"]),
        counts=_COHORT_COUNTS,
    )
    band_of = dict(CountryBand.objects.values_list("country", "band"))
    types = {pk: (slug, name) for pk, slug, name in MembershipType.objects.values_list("pk", "slug", "name")}
    return {
        "renewal": renewal_figures(renewal_by_month(renewal_rows), start=chosen.start, end=chosen.end),
        "cohorts": cohort_figures(cohort_rows),
        "attrition": attrition_figures(renewal_rows, band_of=band_of, types=types),
        "new_members": {
            row["source"]: row["new_members"] for row in cohort_rows if row["by_source"] and row["new_members"]
        },
        "at_risk": _rows(AT_RISK_SQL.replace("__FILTERS__", filters), params)[0]["members"],
    }


def retention_figures_cached(chosen: RetentionFilter, *, today: datetime.date, refresh: bool = False):
    """`(figures, computed_at)` from the cache (ten minutes), else computed now. Codes, not labels: one entry
    serves every language."""
    key = "retention:" + hashlib.sha256(repr((chosen, today)).encode()).hexdigest()[:32]
    return cached_figures(key, lambda: retention_figures(chosen, today=today), refresh=refresh)
