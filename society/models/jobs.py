"""When each periodic job last finished, so /healthz/ and staff can tell a job that stopped running."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobHeartbeat(models.Model):
    name = models.CharField(_("job"), max_length=100, primary_key=True)
    last_run_at = models.DateTimeField(_("last run"))
    last_result = models.JSONField(_("last result"), default=dict, blank=True)

    class Meta:
        verbose_name = _("job heartbeat")
        verbose_name_plural = _("job heartbeats")

    def __str__(self):
        return f"{self.name}: {self.last_run_at:%Y-%m-%d %H:%M}"
