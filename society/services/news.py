"""Writes to the society's news. The admin's actions and forms call these, as would any other caller."""

import datetime

from django.db import transaction
from django.utils import timezone

from society.models import ArticleStatus, NewsArticle


@transaction.atomic
def article_publish(
    *, article: NewsArticle, publish_at: datetime.datetime | None = None, now: datetime.datetime | None = None
) -> NewsArticle:
    """Publish now, or at `publish_at` (a future time schedules it).

    An article already scheduled keeps its time unless a new one is given; an article without a time goes
    live now. Locked, so two editors pressing Publish at once leave one consistent row and one history entry each.
    """
    locked = NewsArticle.objects.select_for_update().get(pk=article.pk)
    locked.status = ArticleStatus.PUBLISHED
    locked.publish_at = publish_at or locked.publish_at or now or timezone.now()
    locked.save(update_fields=["status", "publish_at", "updated_at"])
    return locked


@transaction.atomic
def article_unpublish(*, article: NewsArticle) -> NewsArticle:
    """Back to draft: gone from every public listing, feed and sitemap at once. The time is kept for re-publishing."""
    locked = NewsArticle.objects.select_for_update().get(pk=article.pk)
    locked.status = ArticleStatus.DRAFT
    locked.save(update_fields=["status", "updated_at"])
    return locked
