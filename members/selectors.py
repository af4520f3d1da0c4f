"""Reads that span models: who may see member-only pages, and the figures of the staff dashboard."""

import datetime

from django.db.models import Count, Exists, OuterRef, Sum
from django_countries import countries

from members.models import IncomeBand, Membership, MembershipStatus, Order, Term
from members.models.memberships import ACCESS_STATUSES, society_today

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


def dashboard_figures(today: datetime.date | None = None) -> dict:
    today = today or society_today()
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

    last_ends = Membership.objects.with_last_end().filter(cancelled_at__isnull=True).order_by()
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

    paid = Order.objects.paid().filter(paid_at__date__gte=year_ago).order_by()
    dues = {band: (total, n) for band, total, n in paid.values_list("band").annotate(Sum("amount"), Count("id"))}
    dues_rows = [(band.label, *dues.get(band.value, (0, 0))) for band in IncomeBand]
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
        "dues_total": sum(row[1] for row in dues_rows),
    }
