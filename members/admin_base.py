from django.contrib import admin


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
