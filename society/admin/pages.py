from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from society.models import Page


@admin.register(Page)
class PageAdmin(SimpleHistoryAdmin):
    list_display = ["title", "slug", "in_navigation", "navigation_order", "updated_at"]
    list_filter = ["in_navigation"]
    list_editable = ["in_navigation", "navigation_order"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
