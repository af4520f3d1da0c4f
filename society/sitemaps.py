from django.contrib.sitemaps import Sitemap
from django.urls import reverse


class StaticViewSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return ["home", "about", "guidelines:list"]

    def location(self, item):
        return reverse(item)


sitemaps = {"static": StaticViewSitemap}
