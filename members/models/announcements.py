"""Announcements staff write to a segment of the members: composed in admin, queued to the outbox once
per member (the outbox row's idempotency key), sent at the society's configured rate."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from members.models.memberships import IncomeBand, MembershipStatus, MembershipType
from society.models import NewsArticle


class AnnouncementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    QUEUED = "queued", _("Queued")


class AnnouncementQuerySet(models.QuerySet):
    def due(self, now):
        return self.filter(status=AnnouncementStatus.SCHEDULED, send_at__lte=now)


class Announcement(models.Model):
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), max_length=50_000, help_text=_("Markdown."))
    news_article = models.ForeignKey(
        NewsArticle,
        verbose_name=_("news article"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The segment: every filter left empty matches everyone; filters combine with AND.
    statuses = ArrayField(
        models.CharField(max_length=20, choices=MembershipStatus.choices),
        verbose_name=_("membership statuses"),
        default=list,
        blank=True,
    )
    membership_types = models.ManyToManyField(MembershipType, verbose_name=_("membership types"), blank=True)
    bands = ArrayField(
        models.CharField(max_length=20, choices=IncomeBand.choices),
        verbose_name=_("income bands"),
        default=list,
        blank=True,
    )
    countries = CountryField(_("countries"), multiple=True, blank=True)
    languages = ArrayField(
        models.CharField(max_length=10, choices=settings.LANGUAGES),
        verbose_name=_("languages"),
        default=list,
        blank=True,
    )
    joined_after = models.DateField(_("joined on or after"), null=True, blank=True)
    joined_before = models.DateField(_("joined before"), null=True, blank=True)
    auto_renew = models.BooleanField(_("auto-renew"), null=True, blank=True)

    status = models.CharField(
        _("status"), max_length=10, choices=AnnouncementStatus.choices, default=AnnouncementStatus.DRAFT
    )
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=AnnouncementStatus.DRAFT) | Q(send_at__isnull=False),
                name="announcement_scheduled_has_send_at",
            ),
            models.CheckConstraint(
                condition=~Q(status=AnnouncementStatus.QUEUED) | Q(queued_at__isnull=False),
                name="announcement_queued_has_queued_at",
            ),
        ]

    def __str__(self):
        return self.subject

    @property
    def related_key(self) -> str:
        return f"announcement:{self.pk}"
