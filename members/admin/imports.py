"""The member import in the admin: upload a CSV, then watch it checked in steps and written all at once."""

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from members.forms.imports import ImportUploadForm
from members.models import ImportStatus, MemberImport
from members.services.imports import ImportFileError, import_start, import_step


def import_upload(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_start(file_name=upload.name, text=upload.read().decode("utf-8-sig"), by=request.user)
        except (UnicodeDecodeError, ImportFileError) as error:
            form.add_error("file", str(error))
        else:
            return redirect("admin:members_membership_import_progress", pk=job.pk)
    context = {
        **admin.site.each_context(request),
        "title": _("Import members"),
        "form": form,
        "imports": MemberImport.objects.defer("content")[:10],
    }
    return render(request, "admin/members/import_upload.html", context)


def import_progress(request, pk: int):
    job = get_object_or_404(MemberImport.objects.defer("content"), pk=pk)
    if job.is_running:
        job = import_step(job_id=job.pk)
        if job.status == ImportStatus.DONE:
            messages.success(request, _("Imported %(file)s.") % {"file": job.file_name})
    context = {
        **admin.site.each_context(request),
        "title": _("Import %(file)s") % {"file": job.file_name},
        "job": job,
        "running": job.is_running,
    }
    return render(request, "admin/members/import_progress.html", context)
