"""Upkeep of the retention facts (members.models.retention), which the triggers keep right on every write, and
of the cached staff figures."""

import datetime

from django.conf import settings
from django.db import connection, transaction

from members.models.memberships import society_today
from members.selectors.dashboard import dashboard_figures_cached
from members.selectors.retention import RetentionFilter, default_period, retention_figures_cached


def term_facts_rebuild() -> None:
    """Every fact and count again from the terms, accounts, memberships and orders: after writes made with triggers
    switched off (a bulk load with session_replication_role = replica). Writes to those tables wait meanwhile:
    about a minute at 500,000 members."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT members_termfact_rebuild()")
        cursor.execute("SELECT members_duescount_rebuild()")


def term_facts_compact() -> None:
    """Sum the signed rows the triggers added to RenewalCount, CohortCount and DuesCount into one row per key,
    so the counts the figures read stay a few thousand rows. The figures are the same before and after."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT members_termfact_compact()")
        cursor.execute("SELECT members_duescount_compact()")


def staff_figures_warm(*, today: datetime.date | None = None) -> None:
    """Compute the dashboard and the unfiltered Retention page into the cache, so staff opening them read figures
    at most a few minutes old without waiting even the fraction of a second they take to compute."""
    today = today or society_today()
    dashboard_figures_cached(today=today, refresh=True)
    start, end = default_period(today)
    chosen = RetentionFilter(start=start, end=end, window_days=settings.RENEWAL_WINDOW_DAYS)
    retention_figures_cached(chosen, today=today, refresh=True)
