"""Admin classes every app's admin builds on, so values a URL or a filter carries never reach the ORM unchecked."""

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet, BaseModelFormSet
from django.http import Http404
from django.utils.text import capfirst
from django.utils.translation import pgettext
from simple_history.admin import SimpleHistoryAdmin


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
