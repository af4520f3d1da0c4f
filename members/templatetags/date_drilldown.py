"""The admin's date drill-down (date_hierarchy) for the changelists of orders and payments, whose tables grow
with the membership: Django's own tag, reading the periods through members.admin.base.ProbedDates."""

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.contrib.admin.templatetags.base import InclusionAdminNode

from members.admin.base import ProbedDates

register = template.Library()


class _ProbedChangeList:
    """The changelist as the tag sees it: itself, but with a queryset that finds its dates by index probes."""

    def __init__(self, changelist):
        self._changelist = changelist
        field = changelist.date_hierarchy
        self.queryset = ProbedDates(
            changelist.queryset,
            year=changelist.params.get(f"{field}__year"),
            month=changelist.params.get(f"{field}__month"),
        )

    def __getattr__(self, name):
        return getattr(self._changelist, name)


@register.tag(name="probed_date_hierarchy")
def probed_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=lambda changelist: date_hierarchy(_ProbedChangeList(changelist)),
        template_name="date_hierarchy.html",
        takes_context=False,
    )
