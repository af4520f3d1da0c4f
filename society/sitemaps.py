import math
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from guidelines.sitemaps import EditionSitemap, ProvisionSitemap
from society.models import NewsArticle, Page


class SiteUrlSitemap(Sitemap):
    """Locations under SITE_URL, matching the pages' canonical links whatever host the crawler asked; every
    public page once per language, each listing the others and x-default (English) as alternates."""

    i18n = True
    alternates = True
    x_default = True

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or "https"

    def index_pages(self) -> int:
        """How many pages this section has, for the sitemap index: a COUNT, where Django's `paginator.num_pages`
        loads every item (some 800 provision versions with their editions, two thirds of the index's time)."""
        items = self.items()
        count = len(items) if isinstance(items, list | tuple) else items.count()
        if self.i18n:
            count *= len(self._languages())
        return max(1, math.ceil(count / self.limit))


class StaticViewSitemap(SiteUrlSitemap):
    changefreq = "monthly"

    def items(self):
        items = ["home", "news:list", "guidelines:list"]
        # /about/ is listed with its last-modified date by PageSitemap once staff have written it.
        if not Page.objects.filter(slug=Page.ABOUT_SLUG).exists():
            items.append("about")
        return items

    def location(self, item):
        return reverse(item)


class NewsSitemap(SiteUrlSitemap):
    """Published articles only, read at request time, so a scheduled article appears when it goes live.
    Members-only articles are listed too: their page (title and summary) is public."""

    changefreq = "weekly"

    def items(self):
        return NewsArticle.objects.published().order_by("-publish_at", "-pk").only("slug", "updated_at")

    def lastmod(self, item):
        return item.updated_at

    def get_latest_lastmod(self):
        # For the sitemap index: one aggregate instead of Django's default of loading every item.
        return self.items().aggregate(latest=Max("updated_at"))["latest"]


class PageSitemap(SiteUrlSitemap):
    changefreq = "monthly"

    def items(self):
        return Page.objects.order_by("slug").only("slug", "updated_at")

    def lastmod(self, item):
        return item.updated_at

    def get_latest_lastmod(self):
        return self.items().aggregate(latest=Max("updated_at"))["latest"]


class GuidelineEditionSitemap(SiteUrlSitemap, EditionSitemap):
    pass


class GuidelineProvisionSitemap(SiteUrlSitemap, ProvisionSitemap):
    pass


sitemaps = {
    "static": StaticViewSitemap,
    "news": NewsSitemap,
    "pages": PageSitemap,
    "guideline-editions": GuidelineEditionSitemap,
    "guideline-provisions": GuidelineProvisionSitemap,
}
