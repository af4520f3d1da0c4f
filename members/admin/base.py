from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
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
