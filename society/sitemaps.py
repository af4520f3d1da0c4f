from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from guidelines.sitemaps import EditionSitemap, ProvisionSitemap


class StaticViewSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return ["home", "about", "guidelines:list"]

    def location(self, item):
        return reverse(item)


sitemaps = {"static": StaticViewSitemap, "guideline-editions": EditionSitemap, "guideline-provisions": ProvisionSitemap}
