"""Admin classes every app's admin builds on, so values a URL or a filter carries never reach the ORM unchecked."""

from botocore.exceptions import BotoCoreError, ClientError
from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters, ShowFacets
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models.fields.files import FieldFile
from django.forms.models import BaseInlineFormSet, BaseModelFormSet
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from simple_history.admin import SimpleHistoryAdmin

# What a storage backend raises when it cannot store or read a file: object storage unreachable or refusing
# (STORAGE_URL, django-storages over boto3), or a full or missing local folder.
STORAGE_ERRORS = (BotoCoreError, ClientError, OSError)
MESSAGE_FILE_NOT_STORED = gettext_lazy(
    "The file could not be stored because the file storage is not reachable. Nothing was saved: please try again "
    "in a few minutes."
)


class FilesStoredFirstForm(forms.ModelForm):
    """Stores the uploaded files while the form is validated, before the admin saves anything: a storage that is
    down is then an error on the file's field, with everything staff typed still in the form, instead of an error
    page from the middle of the save (Django stores files only as the row is written)."""

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return  # nothing is stored for a form sent back anyway
        for name in self.changed_data:
            file = getattr(self.instance, name, None)
            if not isinstance(file, FieldFile) or not file or file._committed:
                continue
            try:
                file.save(file.name, file.file, save=False)
            except STORAGE_ERRORS:
                self.add_error(name, MESSAGE_FILE_NOT_STORED)


class BoundedChangeList(ChangeList):
    """Django's date drill-down builds datetimes from ?created_at__year=…: a huge year raises OverflowError
    and the year 9999 a ValueError outside Django's own check. Both are an invalid filter, answered the way
    the changelist answers any other (a redirect to ?e=1), instead of a 500."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error


class BoundedChangeListMixin:
    def get_changelist(self, request, **kwargs):
        return BoundedChangeList


def _is_valid(field, value: str) -> bool:
    try:
        field.to_python(unquote(value))
    except ValidationError:
        return False
    return True


class LogAdminMixin:
    """For a table the services write and staff only read (the outbox, webhook deliveries, exports, alert
    subscriptions): no adding, editing or deleting by hand; actions may still hand rows back to a service."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HistoryAdmin(BoundedChangeListMixin, SimpleHistoryAdmin):
    """simple_history's history pages pass the ids in their URL straight to a query: a non-numeric id is a
    ValueError there. Here it is a 404, like Django's own change page."""

    def history_view(self, request, object_id, extra_context=None):
        if not _is_valid(self.model._meta.pk, object_id):
            raise Http404
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        historical = self.model._meta.simple_history_manager_attribute
        history_id = getattr(self.model, historical).model._meta.get_field("history_id")
        if not (_is_valid(self.model._meta.pk, object_id) and _is_valid(history_id, version_id)):
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context=extra_context)


def label_row_fields(form, row: int) -> None:
    """A table of forms shows each field's name once, in its column header, which a screen reader does not
    read out for an input: each input is labelled with its column and its row instead ("Band, Kenya")."""
    instance = getattr(form, "instance", None)
    if instance is not None and instance.pk:
        row_name = str(instance)
    else:
        row_name = pgettext("a table's row not saved yet", "new row %(number)d") % {"number": row + 1}
    for name, field in form.fields.items():
        if field.widget.is_hidden:
            continue
        label = field.label if field.label is not None else name
        field.widget.attrs["aria-label"] = f"{capfirst(label)}, {row_name}"


class LabelledRowsFormSet(BaseModelFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        label_row_fields(form, index or 0)


class LabelledInlineFormSet(BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        label_row_fields(form, index or 0)


class LabelledListEditableMixin:
    """For a ModelAdmin with list_editable: every input of the changelist labelled with its column and row."""

    def get_changelist_formset(self, request, **kwargs):
        return super().get_changelist_formset(request, formset=LabelledRowsFormSet, **kwargs)


# --- Changelists over large tables (memberships, orders, users, the outbox) without a COUNT(*) per view ----
# Django's changelist counts its filtered rows on every page view to number the pages. Over 500,000
# memberships that count alone costs more than the page. Above EXACT_COUNT_BELOW rows the count shown is the
# planner's own estimate (the table's pg_class.reltuples when unfiltered, the row estimate of the filtered
# query's plan otherwise), labelled "about N"; below it, counting exactly is cheap and the number is exact.

# Counting this many rows takes a few milliseconds; beyond it an estimate is shown instead.
EXACT_COUNT_BELOW = 1000


def estimated_count(queryset) -> tuple[int, bool]:
    """(number of rows, whether it is an estimate). Unfiltered: one query. Filtered: the rows are counted up to
    EXACT_COUNT_BELOW (a LIMIT inside the COUNT bounds the work however many rows match, and the planner's
    estimate of a filter can be off by far more than that), and only past it estimated."""
    connection = connections[queryset.db]
    with connection.cursor() as cursor:
        if not queryset.query.where:
            table = queryset.model._meta.db_table
            # One statement either way: the COUNT subquery runs only when the CASE needs it (an InitPlan is
            # evaluated on first use). reltuples is -1 before the first ANALYZE.
            cursor.execute(
                f'SELECT CASE WHEN reltuples < %s THEN (SELECT COUNT(*) FROM "{table}") ELSE reltuples END, '
                "reltuples >= %s FROM pg_class WHERE oid = %s::regclass",
                [EXACT_COUNT_BELOW, EXACT_COUNT_BELOW, f'"{table}"'],
            )
            count, estimated = cursor.fetchone()
            return int(count), estimated
        try:
            sql, params = queryset.order_by().query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing (queryset.none()): no query at all
            return 0, False
        counted = queryset.order_by()[: EXACT_COUNT_BELOW + 1].count()
        if counted <= EXACT_COUNT_BELOW:
            return counted, False
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    return max(int(plan[0]["Plan"]["Plan Rows"]), counted), True


class EstimatedCountPaginator(Paginator):
    @cached_property
    def _counted(self):
        return estimated_count(self.object_list)

    @cached_property
    def count(self):
        return self._counted[0]

    @property
    def count_is_estimate(self) -> bool:
        return self._counted[1]


class EstimatedCountChangeList(BoundedChangeList):
    def get_results(self, request):
        super().get_results(request)
        # The pagination template says "about N" then (templates/admin/pagination.html).
        self.count_is_estimate = getattr(self.paginator, "count_is_estimate", False)


class LargeTableAdminMixin:
    """For the changelists of tables that grow with the membership: no full COUNT(*), no facet counts
    (each facet is another count over the table), page counts estimated above EXACT_COUNT_BELOW rows."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        """Django's own checkbox, written directly: rendering a CheckboxInput widget through its template for
        each row was a third of the time of a 50-row page."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(_("Select this object for an action - {}"), obj),
        )

    def get_changelist(self, request, **kwargs):
        return EstimatedCountChangeList
