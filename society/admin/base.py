"""Admin classes every app's admin builds on, so values a URL or a filter carries never reach the ORM unchecked."""

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.http import Http404
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
