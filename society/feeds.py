"""RSS and Atom feeds of public news. Members-only articles stay out: a feed reader has no login."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.translation import gettext_lazy as _

from society.models import NewsArticle

FEED_SIZE = 20


class NewsRssFeed(Feed):
    feed_type = Rss201rev2Feed
    description = _("News from the society: meetings, policy statements and new guideline editions.")

    def title(self):
        return _("%(society)s news") % {"society": settings.SOCIETY_NAME}

    # Absolute URLs from SITE_URL, the same ones the pages give as canonical, whatever host was asked.
    def link(self):
        return settings.SITE_URL + reverse("news:list")

    def feed_url(self):
        return settings.SITE_URL + reverse("news:feed-rss")

    def item_link(self, item):
        return settings.SITE_URL + item.get_absolute_url()

    def items(self):
        return (
            NewsArticle.objects.published()
            .public()
            .order_by("-publish_at", "-pk")
            .prefetch_related("topics")[:FEED_SIZE]
        )

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.summary

    def item_pubdate(self, item):
        return item.publish_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_categories(self, item):
        return [topic.name for topic in item.topics.all()]

    def item_guid(self, item):
        # A tag URI (RFC 4151) from the id and first publication date: stable when a slug is corrected,
        # so feed readers never show an edited article twice.
        domain = urlsplit(settings.SITE_URL).hostname or "localhost"
        return f"tag:{domain},{item.created_at:%Y-%m-%d}:news/{item.pk}"

    item_guid_is_permalink = False


class NewsAtomFeed(NewsRssFeed):
    feed_type = Atom1Feed
    subtitle = NewsRssFeed.description

    def feed_url(self):
        return settings.SITE_URL + reverse("news:feed-atom")
