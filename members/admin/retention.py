"""The admin's Retention page and its CSV downloads: figures from members.selectors.retention, cached for ten
minutes per choice of filters, drawn as SVG bar charts each followed by its table."""

import datetime
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from members.forms.retention import RetentionFilterForm
from members.models import IncomeBand, MembershipSource, Order, OrderStatus, Term
from members.models.memberships import society_today
from members.selectors.retention import COHORT_YEARS, FiguresTooSlow, retention_figures_cached
from society.charts import Bar, BarChart, Row
from society.exports import csv_response

CSV_PANELS = ("renewal", "cohorts", "attrition", "new-members")


class AtRiskFilter(admin.SimpleListFilter):
    """The Retention page's "at risk": ending within N days, no sign-in to the portal since the latest term was
    written (their last renewal, or joining) and no pending order. Mirrors AT_RISK_SQL in
    members.selectors.retention; the Retention page links here with its own window, so any 1-366 is taken."""

    title = gettext_lazy("at risk of lapsing")
    parameter_name = "at_risk"

    def lookups(self, request, model_admin):
        return [("30", gettext_lazy("ending within 30 days")), ("90", gettext_lazy("ending within 90 days"))]

    def queryset(self, request, queryset):
        days = self.value()
        if not (days and days.isascii() and days.isdigit() and 1 <= int(days) <= 366):
            return queryset
        today = society_today()
        latest_term_written = (
            Term.objects.counting().filter(membership=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
        )
        return queryset.filter(
            ~Exists(Order.objects.filter(membership=OuterRef("pk"), status=OrderStatus.PENDING)),
            Q(user__last_login__isnull=True) | Q(user__last_login__lt=Subquery(latest_term_written)),
            cancelled_at__isnull=True,
            lifetime=False,
            current_end__gte=today,
            current_end__lte=today + datetime.timedelta(days=int(days)),
        )


class JoinedFilter(admin.SimpleListFilter):
    """The year of the first counting term's start, as the Retention page's join year."""

    title = gettext_lazy("join year")
    parameter_name = "joined"

    def lookups(self, request, model_admin):
        # Recent years without a query: finding the years present would read every term.
        year = society_today().year
        return [(str(y), str(y)) for y in range(year, year - 10, -1)]

    def queryset(self, request, queryset):
        year = self.value()
        if not (year and year.isascii() and year.isdigit() and len(year) == 4):
            return queryset
        # "The first term started in the year" as a term starting in it and none before it: two EXISTS that
        # Postgres joins (a semi- and an anti-join over the terms' membership index), where the first start as
        # a subquery per membership was evaluated for every row, all 500,000 of them for a year with no joiners.
        terms = Term.objects.counting().filter(membership=OuterRef("pk"))
        return queryset.filter(
            Exists(terms.filter(start__year=int(year))),
            ~Exists(terms.filter(start__lt=datetime.date(int(year), 1, 1))),
        )


def _figures(form, *, refresh: bool = False):
    return retention_figures_cached(form.retention_filter(), today=form.today, refresh=refresh)


def retention_view(request):
    """GET shows the figures for the filters in the query string; POST (the refresh button) computes them again
    and comes back to the same view."""
    form = RetentionFilterForm(request.GET, today=society_today())
    context = {**admin.site.each_context(request), "title": _("Retention"), "form": form}
    if not form.is_valid():
        return render(request, "admin/members/retention.html", context, status=400)
    try:
        figures, computed_at = _figures(form, refresh=request.method == "POST")
    except FiguresTooSlow:
        context["too_slow"] = True
        return render(request, "admin/members/retention.html", context, status=503)
    if request.method == "POST":
        return redirect(request.get_full_path())
    chosen = form.retention_filter()
    query = request.GET.urlencode()
    context.update(
        figures=figures,
        computed_at=computed_at,
        chosen=chosen,
        charts=_charts(figures),
        attrition=_labelled_attrition(figures["attrition"]),
        sources=[(label, figures["new_members"].get(value, 0)) for value, label in MembershipSource.choices],
        cohort_years=COHORT_YEARS,
        prior_rates={
            "all": _percent(figures["renewal"]["prior"]["rate"]),
            "first": _percent(figures["renewal"]["prior_first"]["rate"]),
        },
        at_risk_url=_at_risk_url(chosen),
        csv_urls={
            panel.replace("-", "_"): reverse("admin:members_membership_retention_csv", args=[panel])
            + (f"?{query}" if query else "")
            for panel in CSV_PANELS
        },
    )
    return render(request, "admin/members/retention.html", context)


def _at_risk_url(chosen) -> str:
    params = {"at_risk": chosen.window_days}
    for name, value in [
        ("type", chosen.membership_type),
        ("band", chosen.band),
        ("country", chosen.country),
        ("joined", chosen.join_year),
    ]:
        if value:
            params[name] = value
    return f"{reverse('admin:members_membership_changelist')}?{urlencode(params)}"


def _month(month) -> str:
    return date_format(month, "YEAR_MONTH_FORMAT")


def _percent(value) -> str:
    return "–" if value is None else f"{value} %"


def _charts(figures) -> dict:
    months = figures["renewal"]["months"]
    rate_series = [_("This period"), _("A year earlier")]

    def rate_rows(current, prior):
        return [
            Row(
                label=_month(month["month"]),
                bars=[
                    Bar(value=month[current]["rate"], text=_percent(month[current]["rate"]), series=0),
                    Bar(value=month[prior]["rate"], text=_percent(month[prior]["rate"]), series=1),
                ],
            )
            for month in months
        ]

    bands = dict(IncomeBand.choices)
    return {
        "renewal": BarChart(
            id="renewal-chart",
            title=_("Renewal rate by month"),
            description=_(
                "Bars for each month: the share of terms ending that month that were renewed by the end of the "
                "grace period, and the same month a year earlier. The figures are in the table below."
            ),
            rows=rate_rows("all", "prior"),
            series=rate_series,
            maximum=100,
        ),
        "first": BarChart(
            id="first-year-chart",
            title=_("First-year renewal rate by month"),
            description=_(
                "Bars for each month: the share of first terms ending that month that were renewed, and the same "
                "month a year earlier. The figures are in the table below."
            ),
            rows=rate_rows("first", "prior_first"),
            series=rate_series,
            maximum=100,
        ),
        "attrition": BarChart(
            id="attrition-chart",
            title=_("Attrition rate by income band"),
            description=_(
                "One bar per income band: the share of ended terms that lapsed. The table below has the counts."
            ),
            rows=[
                Row(
                    label=str(bands.get(row["key"], _("No band"))),
                    bars=[Bar(value=row["rate"], text=_percent(row["rate"]))],
                )
                for row in figures["attrition"]["band"]
            ],
            maximum=100,
        ),
        "sources": BarChart(
            id="sources-chart",
            title=_("New members by source"),
            description=_(
                "One bar per way of joining: online, created by the office, imported. The table below has the counts."
            ),
            rows=[
                Row(
                    label=str(label),
                    bars=[
                        Bar(value=figures["new_members"].get(value, 0), text=str(figures["new_members"].get(value, 0)))
                    ],
                )
                for value, label in MembershipSource.choices
            ],
        ),
    }


def _labelled_attrition(attrition) -> dict:
    bands = dict(IncomeBand.choices)
    return {
        "band": [{**row, "label": bands.get(row["key"], _("No band"))} for row in attrition["band"]],
        "country": [{**row, "label": countries.name(row["key"]) or row["key"]} for row in attrition["country"]],
        "type": [{**row, "label": row["name"]} for row in attrition["type"]],
    }


def retention_csv(request, panel: str):
    """One panel's figures as CSV, for the same filters as the page."""
    if panel not in CSV_PANELS:
        raise Http404
    form = RetentionFilterForm(request.GET, today=society_today())
    page = reverse("admin:members_membership_retention") + f"?{request.GET.urlencode()}"
    if not form.is_valid():
        return redirect(page)
    try:
        figures, _computed_at = _figures(form)
    except FiguresTooSlow:
        return redirect(page)  # which says so
    header, rows = _csv_tables(figures)[panel]
    return csv_response(header=header, rows=rows, filename=f"retention-{panel}.csv")


def _csv_tables(figures) -> dict:
    renewal_header = [
        _("month"),
        _("terms ended"),
        _("renewed"),
        _("undecided (in grace)"),
        _("renewal rate %"),
        _("first terms ended"),
        _("first terms renewed"),
        _("first terms undecided"),
        _("first-year renewal rate %"),
        _("renewal rate a year earlier %"),
        _("first-year renewal rate a year earlier %"),
    ]
    renewal_rows = [
        [
            month["month"].isoformat()[:7],
            month["all"]["ended"],
            month["all"]["renewed"],
            month["all"]["undecided"],
            month["all"]["rate"],
            month["first"]["ended"],
            month["first"]["renewed"],
            month["first"]["undecided"],
            month["first"]["rate"],
            month["prior"]["rate"],
            month["prior_first"]["rate"],
        ]
        for month in figures["renewal"]["months"]
    ]
    cohort_header = [_("join year"), _("members")]
    for years in COHORT_YEARS:
        cohort_header += [
            _("reached year %(years)d") % {"years": years},
            _("active after %(years)d years") % {"years": years},
            _("rate after %(years)d years %%") % {"years": years},
        ]
    cohort_rows = [
        [
            row["year"],
            row["members"],
            *[value for cell in row["cells"] for value in (cell["due"], cell["kept"], cell["rate"])],
        ]
        for row in figures["cohorts"]
    ]
    attrition = _labelled_attrition(figures["attrition"])
    group_names = {"band": _("income band"), "country": _("country"), "type": _("membership type")}
    attrition_rows = [
        [group_names[group], row["label"], row["decided"], row["lapsed"], row["rate"]]
        for group in ("band", "country", "type")
        for row in attrition[group]
    ]
    return {
        "renewal": (renewal_header, renewal_rows),
        "cohorts": (cohort_header, cohort_rows),
        "attrition": (
            [_("by"), _("group"), _("terms ended (decided)"), _("lapsed"), _("attrition rate %")],
            attrition_rows,
        ),
        "new-members": (
            [_("source"), _("new members")],
            [[label, figures["new_members"].get(value, 0)] for value, label in MembershipSource.choices],
        ),
    }
