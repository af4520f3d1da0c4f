import datetime

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import IntegerField, Max, Min, Value
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import pgettext


class RecordInline(admin.TabularInline):
    """A read-only list of records on a parent's admin page (terms, orders, reminders sent).

    Such rows are written by the services only; the admin shows them and never adds, edits or deletes."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


def action_form_page(modeladmin, request, *, template: str, title, form, action: str, **selected) -> TemplateResponse:
    """An admin action's intermediate page (admin/members/_action_form.html): the selected rows, passed by
    name in `selected`, and a form such as the reason staff must give; submitting it runs `action` again."""
    return TemplateResponse(
        request,
        template,
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "action": action,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            **selected,
        },
    )


def apply_to_each(modeladmin, request, objects, action) -> int:
    """Run a service on each selected row; a row the service refuses is named in a warning and the others
    still go through, so one refusal never undoes a whole batch. Returns how many went through."""
    done = 0
    for obj in objects:
        try:
            action(obj)
        except ValidationError as error:
            problem = {"object": obj, "problem": " ".join(error.messages)}
            modeladmin.message_user(
                request, pgettext("a row and why it was refused", "%(object)s: %(problem)s") % problem, messages.WARNING
            )
        else:
            done += 1
    return done


# --- A date drill-down over 500,000 orders or payments ------------------------------------------------------
# Django's date_hierarchy lists the years (then months, then days) that have rows with SELECT DISTINCT
# date_trunc(…) over every row of the filtered list: a scan of the whole table on each page view. The same
# choices come from one probe per possible period instead, each an index range scan that stops at its first
# row (LIMIT 1), all in one query (UNION ALL): a handful of index lookups between the first and last dates.


def _next_period(start, kind: str):
    if kind == "year":
        return start.replace(year=start.year + 1)
    if kind == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start + datetime.timedelta(days=1)


class ProbedDates:
    """The changelist's queryset as Django's date_hierarchy template tag reads it (aggregate, dates, datetimes),
    with the periods found by index probes (see above) rather than by DISTINCT over every row."""

    def __init__(self, queryset, *, year: str | None = None, month: str | None = None):
        self.queryset = queryset.order_by()
        # The drill-down's selection: months are probed within its year, days within its month.
        self.within = (int(year), int(month or 1)) if year else None
        self._ends = None  # asked for by the tag, then again for the periods: one query

    def aggregate(self, **aggregates):
        # The first and last dates of the whole table, two probes at the ends of the date's index: over a
        # filtered list (a search for a common name) MIN and MAX would read every match. The periods between
        # them are then probed with the list's filters, so only those with rows are offered all the same.
        if self._ends is None:
            self._ends = self.queryset.model._base_manager.aggregate(**aggregates)
        return self._ends

    def dates(self, field_name: str, kind: str) -> list:
        return self._present(field_name, kind, datetimes=False)

    def datetimes(self, field_name: str, kind: str) -> list:
        return self._present(field_name, kind, datetimes=True)

    def _present(self, field_name: str, kind: str, *, datetimes: bool) -> list:
        ends = self.aggregate(first=Min(field_name), last=Max(field_name))
        if ends["first"] is None:
            return []
        first, last = ends["first"], ends["last"]
        if datetimes:
            # Periods of the current time zone, as Django's own date_trunc(… AT TIME ZONE …).
            first, last = (timezone.localtime(value).replace(tzinfo=None) for value in (first, last))
            first = first.replace(hour=0, minute=0, second=0, microsecond=0)
        start = first.replace(month=1, day=1) if kind == "year" else first.replace(day=1) if kind == "month" else first
        if self.within and kind != "year":
            start = start.replace(year=self.within[0], month=1 if kind == "month" else self.within[1], day=1)
            last = _next_period(start, "year" if kind == "month" else "month") - datetime.timedelta(days=1)
        periods = []
        while start <= last:
            periods.append((start, _next_period(start, kind)))
            start = periods[-1][1]
        if datetimes:
            zone = timezone.get_current_timezone()
            periods = [(timezone.make_aware(start, zone), timezone.make_aware(end, zone)) for start, end in periods]
        probes = [
            self.queryset.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end}).values_list(
                Value(index, output_field=IntegerField())
            )[:1]
            for index, (start, end) in enumerate(periods)
        ]
        found = {row[0] for row in probes[0].union(*probes[1:], all=True)}
        return [start for index, (start, _end) in enumerate(periods) if index in found]
