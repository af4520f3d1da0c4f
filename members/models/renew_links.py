"""Personal renew links sent in reminders: signed, expiring, and single-use (a used nonce is marked here)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RenewLink(models.Model):
    """One link in one email. The signed token carries the nonce; only its SHA-256 is stored, so a database
    reader cannot rebuild a working link. `used_at` is set in the same UPDATE that checks it is empty."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.CASCADE, related_name="renew_links"
    )
    nonce_hash = models.CharField(_("nonce hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("renew link")
        verbose_name_plural = _("renew links")
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="renewlink_expires_after_created"
            )
        ]
        indexes = [models.Index(fields=["expires_at"], name="renewlink_expires")]

    def __str__(self):
        return f"{self.user}: {self.created_at:%Y-%m-%d}"
