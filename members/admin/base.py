from django.contrib import admin
from django.template.response import TemplateResponse


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
