"""The Exports page, and the Export link every large changelist shares: a small filtered set streams at once,
a large one is written by a worker and downloaded from the Exports page."""

from collections.abc import Iterable, Sequence

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from society.admin.base import STORAGE_ERRORS, LogAdminMixin
from society.exports import csv_response
from society.models import Export, ExportStatus
from society.services.exports import EXPORT_STORAGE, export_query, export_request

MESSAGE_FILE_NOT_READ = _("The export file could not be read from storage just now. Please try again in a few minutes.")


def labelled(rows: Iterable[Sequence], choices: dict[int, list]) -> Iterable[list]:
    """Rows with the codes in the given columns replaced by their labels ("paid" -> "Paid")."""
    labels = {column: {value: str(label) for value, label in pairs} for column, pairs in choices.items()}
    for row in rows:
        row = list(row)
        for column, names in labels.items():
            row[column] = names.get(row[column], row[column])
        yield row


class BackgroundExportMixin:
    """Adds `<changelist>/export/` (URL name `<app>_<model>_export`) exporting exactly the changelist's
    filtered set: the admin says what a row is (`export_header`, `export_rows`)."""

    export_header: Sequence[str] = ()
    export_filename = "export"

    def export_rows(self, queryset) -> Iterable[Sequence]:
        raise NotImplementedError

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        export = path("export/", self.admin_site.admin_view(self.export_view), name="{}_{}_export".format(*info))
        return [export, *super().get_urls()]

    def export_in_background(self, request, *, count: int):
        """Queue an export of the changelist as filtered by this request's query string; off to the Exports page."""
        title = _("%(things)s (%(count)s rows)") % {
            "things": str(self.opts.verbose_name_plural).capitalize(),
            "count": count,
        }
        export_request(source=self.opts.label_lower, query=export_query(request.GET), title=title, by=request.user)
        self.message_user(request, _("The export is being prepared. You will get an email when it is ready."))
        return redirect("admin:society_export_changelist")

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # The changelist's own answer to a filter it cannot apply, where staff see the filters they chose.
            info = self.opts.app_label, self.opts.model_name
            return redirect(f"{reverse('admin:{}_{}_changelist'.format(*info))}?{ERROR_FLAG}=1")
        if changelist.result_count < settings.EXPORT_STREAM_MAX_ROWS:
            return csv_response(
                header=self.export_header,
                rows=self.export_rows(changelist.get_queryset(request)),
                filename=f"{self.export_filename}.csv",
            )
        if request.method == "POST":
            return self.export_in_background(request, count=changelist.result_count)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export %(things)s") % {"things": self.opts.verbose_name_plural},
            "opts": self.opts,
            "count": changelist.result_count,
            "changelist_url": f"{reverse(f'admin:{self.opts.app_label}_{self.opts.model_name}_changelist')}"
            + (f"?{request.GET.urlencode()}" if request.GET else ""),
        }
        return TemplateResponse(request, "admin/society/export/confirm.html", context)


@admin.register(Export)
class ExportAdmin(LogAdminMixin, admin.ModelAdmin):
    list_display = ["title", "status_display", "progress", "created_at", "expires_at", "download"]
    readonly_fields = ["title", "status", "rows_total", "rows_done", "error", "created_at", "finished_at"]
    fields = readonly_fields
    change_list_template = "admin/society/export/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).select_related("requested_by")

    # Every member of staff may export what they can see and so sees their own exports; the admin site's
    # views already require staff and MFA.
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, export):
        status = ExportStatus(export.status)
        if status == ExportStatus.FAILED and export.error:
            return format_html("{}: {}", status.label, export.error)
        return status.label

    @admin.display(description=_("progress"))
    def progress(self, export):
        return format_html(
            '<progress max="100" value="{}" aria-label="{}">{} %</progress> {} %',
            export.percent,
            export.title,
            export.percent,
            export.percent,
        )

    @admin.display(description=_("available until"))
    def expires_at(self, export):
        return export.expires_at

    @admin.display(description=_("file"))
    def download(self, export):
        if export.status != ExportStatus.DONE:
            return "–"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:society_export_download", args=[export.pk]), _("Download")
        )

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [path("<int:pk>/download/", download, name="society_export_download"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        # While an export runs the page reloads itself (static/js/admin.js; a link without script).
        running = self.get_queryset(request).unfinished().exists()
        return super().changelist_view(request, extra_context={**(extra_context or {}), "refresh": running})

    def download_view(self, request, pk: int):
        export = get_object_or_404(self.get_queryset(request), pk=pk)
        if export.status != ExportStatus.DONE:
            raise Http404
        name = export.file.name
        try:
            file = storages[EXPORT_STORAGE].open(name, "rb")
        except STORAGE_ERRORS:
            self.message_user(request, MESSAGE_FILE_NOT_READ, messages.ERROR)
            return redirect("admin:society_export_changelist")
        return FileResponse(
            file,
            as_attachment=True,
            filename=name.rsplit("/", 1)[-1],
            content_type="text/csv; charset=utf-8",
        )
