from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from guidelines.models import Edition, ProvisionVersion


class EditionSitemap(Sitemap):
    changefreq = "yearly"
    priority = 0.7

    def items(self):
        return (
            Edition.objects.published().select_related("guideline").order_by("guideline__order", "published_on", "pk")
        )

    def lastmod(self, item):
        return item.published_on

    def get_latest_lastmod(self):
        # For the sitemap index: one aggregate instead of Django's default of loading every item.
        return Edition.objects.published().aggregate(latest=Max("published_on"))["latest"]


class ProvisionSitemap(Sitemap):
    """Every provision's pinned URL in every published edition: each is a stable, citable page."""

    changefreq = "yearly"
    priority = 0.5
    limit = 5000

    def items(self):
        return (
            ProvisionVersion.objects.published()
            .select_related("edition__guideline", "provision")
            .order_by("edition__guideline__order", "edition__published_on", "edition_id", "order", "pk")
        )

    def location(self, item):
        return reverse(
            "guidelines:provision",
            kwargs={
                "guideline": item.edition.guideline.slug,
                "edition": item.edition.slug,
                "provision": item.provision.slug,
            },
        )

    def lastmod(self, item):
        return item.edition.published_on

    def get_latest_lastmod(self):
        return (
            Edition.objects.published().filter(versions__isnull=False).aggregate(latest=Max("published_on"))["latest"]
        )
