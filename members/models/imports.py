"""Member imports from the previous system, checked in chunks so staff see progress on large files."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    CHECKING = "checking", _("Checking rows")
    INVALID = "invalid", _("Rejected: some rows are invalid")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed: nothing was imported")


class MemberImport(models.Model):
    """A CSV upload from the previous system, checked in chunks so staff see progress on large files."""

    file_name = models.CharField(_("file name"), max_length=255)
    content = models.TextField(_("content"))
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    checked_rows = models.PositiveIntegerField(_("rows checked"), default=0)
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.CHECKING)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    # Why a failed job stopped, shown to staff on the progress page.
    failure = models.TextField(_("reason for failure"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="failed") | ~models.Q(failure=""), name="memberimport_failure_has_reason"
            ),
        ]

    def __str__(self):
        return self.file_name

    @property
    def is_running(self) -> bool:
        """Still being checked or written: the progress page keeps stepping."""
        return self.status in {ImportStatus.CHECKING, ImportStatus.IMPORTING}
