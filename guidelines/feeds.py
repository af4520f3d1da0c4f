import datetime

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from guidelines.models import Edition


class EditionFeed(Feed):
    """New published editions of every guideline, newest first (Atom)."""

    feed_type = Atom1Feed
    link = reverse_lazy("guidelines:list")
    subtitle = _("New editions of the society's guidelines.")

    def title(self):
        return _("%(society)s guidelines: new editions") % {"society": settings.SOCIETY_NAME}

    def items(self):
        return Edition.objects.published().select_related("guideline").order_by("-published_on", "-pk")[:30]

    def item_title(self, item):
        return f"{item.guideline.title}: {item.label}"

    def item_description(self, item):
        # Sanitised HTML rendered from the change summary's Markdown when the edition was saved.
        return item.change_summary_html or item.guideline.summary

    def item_link(self, item):
        return item.get_absolute_url()

    def item_pubdate(self, item):
        return datetime.datetime.combine(item.published_on, datetime.time(), tzinfo=datetime.UTC)

    def item_updateddate(self, item):
        return self.item_pubdate(item)
