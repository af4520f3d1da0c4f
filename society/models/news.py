"""The society's news: articles and their topics.

Articles appear by themselves at `publish_at`: every public listing filters on the time of the request,
so no job has to flip a flag when a scheduled article goes live.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from society.markdown import RenderedBodyMixin
from society.validators import news_image_upload_to, validate_news_image

MESSAGE_PUBLISHED_NEEDS_TIME = _("A published article needs a publication time.")
MESSAGE_IMAGE_NEEDS_ALT = _("Describe the image for readers who cannot see it.")


class Topic(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self):
        return self.name


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Audience(models.TextChoices):
    PUBLIC = "public", _("Everyone")
    MEMBERS = "members", _("Members only")


class NewsArticleQuerySet(models.QuerySet):
    def published(self, now: datetime.datetime | None = None):
        """Published and due: a scheduled article joins this set the moment its time comes."""
        return self.filter(status=ArticleStatus.PUBLISHED, publish_at__lte=now or timezone.now())

    def scheduled(self, now: datetime.datetime | None = None):
        return self.filter(status=ArticleStatus.PUBLISHED, publish_at__gt=now or timezone.now())

    def public(self):
        """Articles whose body everyone may read (members-only ones still list their title and summary)."""
        return self.filter(audience=Audience.PUBLIC)

    def newest_first(self):
        return self.order_by("-pinned", "-publish_at", "-pk")


class NewsArticle(RenderedBodyMixin, models.Model):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    summary = models.TextField(
        _("summary"), max_length=600, help_text=_("One or two sentences, shown in lists, feeds and link previews.")
    )
    body = models.TextField(_("body"), help_text=_("Markdown. Raw HTML is shown as text."))
    body_html = models.TextField(editable=False, default="")
    image = models.ImageField(
        _("image"),
        upload_to=news_image_upload_to,
        validators=[validate_news_image],
        width_field="image_width",
        height_field="image_height",
        blank=True,
        help_text=_("Optional. JPEG, PNG or WebP, at most 5 MB."),
    )
    # Stored so pages reserve the image's space without opening the file on every view.
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_alt = models.CharField(
        _("image description"),
        max_length=250,
        blank=True,
        help_text=_("Required with an image: what it shows, for readers who cannot see it."),
    )
    topics = models.ManyToManyField(Topic, blank=True, related_name="articles", verbose_name=_("topics"))
    related_editions = models.ManyToManyField(
        "guidelines.Edition",
        blank=True,
        related_name="news_articles",
        verbose_name=_("related guideline editions"),
        limit_choices_to={"status": "published"},
        help_text=_("Editions this article announces or discusses; linked at the end of the article."),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="news_articles",
        verbose_name=_("author"),
        limit_choices_to={"is_staff": True},
    )
    status = models.CharField(_("status"), max_length=20, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    publish_at = models.DateTimeField(
        _("publish at"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("A time in the future schedules the article: it appears by itself at that time."),
    )
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices, default=Audience.PUBLIC)
    pinned = models.BooleanField(_("pinned"), default=False, help_text=_("Pinned articles lead the news list."))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["body_html"])

    objects = NewsArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-pinned", "-publish_at", "-pk"]
        verbose_name = _("news article")
        verbose_name_plural = _("news articles")
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ArticleStatus.DRAFT) | Q(publish_at__isnull=False),
                name="newsarticle_published_has_time",
            ),
            models.CheckConstraint(condition=Q(image="") | ~Q(image_alt=""), name="newsarticle_image_has_alt"),
            models.CheckConstraint(condition=Q(status__in=ArticleStatus.values), name="newsarticle_status_valid"),
            models.CheckConstraint(condition=Q(audience__in=Audience.values), name="newsarticle_audience_valid"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("news:detail", kwargs={"slug": self.slug})

    def clean(self):
        errors = {}
        if self.status == ArticleStatus.PUBLISHED and self.publish_at is None:
            errors["publish_at"] = MESSAGE_PUBLISHED_NEEDS_TIME
        if self.image and not self.image_alt.strip():
            errors["image_alt"] = MESSAGE_IMAGE_NEEDS_ALT
        if errors:
            raise ValidationError(errors)

    @property
    def members_only(self) -> bool:
        return self.audience == Audience.MEMBERS

    def is_live(self, now: datetime.datetime | None = None) -> bool:
        return (
            self.status == ArticleStatus.PUBLISHED
            and self.publish_at is not None
            and self.publish_at <= (now or timezone.now())
        )

    def is_scheduled(self, now: datetime.datetime | None = None) -> bool:
        return (
            self.status == ArticleStatus.PUBLISHED
            and self.publish_at is not None
            and self.publish_at > (now or timezone.now())
        )

    def was_updated(self) -> bool:
        """Worth showing an 'updated' date: edited more than an hour after it went live."""
        return bool(self.publish_at) and self.updated_at - self.publish_at > datetime.timedelta(hours=1)
