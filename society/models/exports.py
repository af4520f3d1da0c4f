"""Staff exports prepared by a worker: too many rows to stream within a web request, kept for a week."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# How long a finished file stays downloadable; the hourly purge deletes it (and its row) after that.
EXPORT_KEEP = datetime.timedelta(days=7)


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ExportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Each member of staff sees their own exports; superusers see everyone's."""
        return self if user.is_superuser else self.filter(requested_by=user)

    def unfinished(self):
        return self.filter(status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING])

    def expired(self, now: datetime.datetime):
        return self.filter(created_at__lt=now - EXPORT_KEEP)

    def stalled(self, now: datetime.datetime, *, limit: datetime.timedelta):
        """Claimed longer ago than a worker may run (it was killed), or never taken by any worker."""
        return self.filter(
            Q(status=ExportStatus.RUNNING, started_at__lt=now - limit)
            | Q(status=ExportStatus.QUEUED, created_at__lt=now - limit)
        )


class Export(models.Model):
    # The admin whose changelist defines the rows ("members.membership"), and that changelist's query string.
    source = models.CharField(_("source"), max_length=100)
    query = models.TextField(_("filters"), blank=True)
    title = models.CharField(_("title"), max_length=200)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    status = models.CharField(_("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), max_length=300, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ExportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        constraints = [
            models.CheckConstraint(
                name="export_status_valid", condition=Q(status__in=[choice.value for choice in ExportStatus])
            ),
            # A ready export always has its file; an unfinished one has none yet.
            models.CheckConstraint(
                name="export_file_iff_done",
                condition=(Q(status=ExportStatus.DONE) & ~Q(file="")) | (~Q(status=ExportStatus.DONE) & Q(file="")),
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @property
    def expires_at(self) -> datetime.datetime:
        return self.created_at + EXPORT_KEEP
