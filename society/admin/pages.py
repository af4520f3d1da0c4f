from django.contrib import admin

from society.admin.base import HistoryAdmin, LabelledListEditableMixin
from society.models import Page


@admin.register(Page)
class PageAdmin(LabelledListEditableMixin, HistoryAdmin):
    list_display = ["title", "slug", "in_navigation", "navigation_order", "updated_at"]
    list_filter = ["in_navigation"]
    list_editable = ["in_navigation", "navigation_order"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
