"""Background exports: a changelist's filtered rows written to a CSV file by a worker, for staff to download
from the Exports admin page (and by the link emailed to them) for a week.

The admin changelist is the definition of the rows: the worker rebuilds it from the query string staff had
in the address bar (the same filters, search and ordering), so the file holds exactly what staff saw. A run
claims its row first (queued -> running), so a duplicate task does nothing; any failure marks the export
failed with the reason, and the hourly purge fails a run whose worker died, so nothing stays "running".
"""

import io
import logging
import tempfile
import uuid
from datetime import timedelta

from celery import current_app
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerError

from society.exports import csv_write
from society.models import Export, ExportStatus
from society.routers import replica_reads
from society.services.mail import email_enqueue_template

logger = logging.getLogger(__name__)

# Published by name: the task (society/tasks.py) calls this module.
EXPORT_TASK = "society.tasks.run_export"
# The task's hard time limit. A run claimed longer ago than this belongs to a worker that died.
EXPORT_TIME_LIMIT = timedelta(minutes=30)
# Rows written between two progress updates: a few dozen short UPDATEs for 500,000 rows.
PROGRESS_EVERY = 10_000
# Exports hold personal data, while media are public behind the proxy: a storage of their own (settings).
EXPORT_STORAGE = "exports"

NOT_QUEUED = _("The export could not be queued (the task queue is unreachable). Please request it again.")
STALLED = _("The export did not finish within %(minutes)d minutes. Please request it again.")


def export_query(params: QueryDict) -> str:
    """The changelist's filters, search and ordering, without its page number or error flag."""
    query = params.copy()
    for name in (PAGE_VAR, ERROR_FLAG):
        query.pop(name, None)
    return query.urlencode()


def export_source(source: str):
    """The ModelAdmin whose changelist and `export_rows` define an export of `source` ("members.membership")."""
    return admin.site.get_model_admin(apps.get_model(source))


def export_request(*, source: str, query: str, title: str, by) -> Export:
    """Record an export of the changelist of `source` filtered by `query`, and queue it after commit."""
    with transaction.atomic():
        export = Export.objects.create(source=source, query=query, title=str(title)[:200], requested_by=by)
        transaction.on_commit(lambda: export_publish(export_id=export.pk))
    return export


def export_publish(*, export_id: int) -> bool:
    """Queue the run. With the broker down the export is marked failed at once with the reason, so staff
    can ask again instead of watching a queued export that no worker will ever take."""
    try:
        current_app.send_task(EXPORT_TASK, args=[export_id])
    except (BrokerError, OSError) as exc:
        logger.warning("Broker unreachable, export %s not queued: %s", export_id, exc)
        Export.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
            status=ExportStatus.FAILED, error=str(NOT_QUEUED), finished_at=timezone.now()
        )
        return False
    return True


def export_run(*, export_id: int) -> Export | None:
    """Write the export's file and email its requester the link. None when another run has it already."""
    claimed = Export.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    export = Export.objects.select_related("requested_by").get(pk=export_id)
    try:
        name = _write_file(export)
    except Exception as exc:
        # Whatever went wrong (a filter that no longer applies, the storage, the time limit), the export is
        # reported failed with the reason on the Exports page, never left "running".
        logger.exception("Export %s failed", export_id)
        Export.objects.filter(pk=export_id).update(
            status=ExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:1000], finished_at=timezone.now()
        )
        return Export.objects.get(pk=export_id)
    with transaction.atomic():
        Export.objects.filter(pk=export_id).update(status=ExportStatus.DONE, file=name, finished_at=timezone.now())
        export.refresh_from_db()
        _email_ready(export)
    return export


def _write_file(export: Export) -> str:
    model_admin = export_source(export.source)
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(export.query)
    request.user = export.requested_by
    if not model_admin.has_view_permission(request):
        # Permissions are those of the moment the file is written: staff who lost them meanwhile get nothing.
        raise PermissionDenied(f"{export.requested_by} may not view {export.source}")
    with replica_reads(), tempfile.TemporaryFile() as raw:
        changelist = model_admin.get_changelist_instance(request)
        Export.objects.filter(pk=export.pk).update(rows_total=changelist.result_count)
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        done = csv_write(
            text,
            header=model_admin.export_header,
            rows=model_admin.export_rows(changelist.get_queryset(request)),
            progress=lambda count: Export.objects.filter(pk=export.pk).update(rows_done=count),
            every=PROGRESS_EVERY,
        )
        text.flush()
        # Rows added while the file was written make it longer than the count taken first.
        Export.objects.filter(pk=export.pk).update(rows_done=done, rows_total=done)
        raw.seek(0)
        filename = f"{model_admin.export_filename}-{timezone.localdate():%Y-%m-%d}.csv"
        # An unguessable folder per export: the name alone never leads to another export's file.
        return storages[EXPORT_STORAGE].save(f"exports/{uuid.uuid4().hex}/{filename}", File(raw, name=filename))


def _email_ready(export: Export) -> None:
    user = export.requested_by
    email_enqueue_template(
        to=user.email,
        # The user model of the members app carries the staff member's language.
        language=getattr(user, "language", "") or settings.LANGUAGE_CODE,
        subject=_("Your export is ready: %(title)s"),
        template="society/email/export_ready",
        context={
            "title": export.title,
            "rows": export.rows_done,
            "url": settings.SITE_URL + reverse("admin:society_export_download", args=[export.pk]),
            "expires_at": export.expires_at,
        },
        kind="export_ready",
        key=f"export_ready:{export.pk}",
    )


def exports_purge(*, now=None) -> dict:
    """Fail runs whose worker died, then delete the files and rows of exports older than a week."""
    now = now or timezone.now()
    stalled = Export.objects.stalled(now, limit=EXPORT_TIME_LIMIT).update(
        status=ExportStatus.FAILED,
        error=str(STALLED) % {"minutes": EXPORT_TIME_LIMIT.total_seconds() // 60},
        finished_at=now,
    )
    storage = storages[EXPORT_STORAGE]
    deleted = 0
    # One row at a time and outside any transaction: deleting from object storage is network I/O.
    for pk, name in Export.objects.expired(now).values_list("pk", "file"):
        if name:
            storage.delete(name)
        deleted += Export.objects.filter(pk=pk).delete()[0]
    return {"stalled": stalled, "deleted": deleted}
