"""Simple pages staff edit in the admin (About, ...), linked from the footer when they ask for it."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from society.markdown import RenderedBodyMixin


class PageQuerySet(models.QuerySet):
    def in_navigation(self):
        return self.filter(in_navigation=True).order_by("navigation_order", "title")


class Page(RenderedBodyMixin, models.Model):
    """A simple page staff edit in the admin. The page with slug "about" is served at /about/."""

    ABOUT_SLUG = "about"

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    summary = models.CharField(
        _("summary"), max_length=300, blank=True, help_text=_("Shown to search engines and in link previews.")
    )
    body = models.TextField(_("body"), help_text=_("Markdown. Raw HTML is shown as text."))
    body_html = models.TextField(editable=False, default="")
    in_navigation = models.BooleanField(
        _("in the footer navigation"), default=False, help_text=_("Adds a link to this page to every page's footer.")
    )
    navigation_order = models.PositiveSmallIntegerField(_("navigation order"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["body_html"])

    objects = PageQuerySet.as_manager()

    class Meta:
        ordering = ["navigation_order", "title"]
        verbose_name = _("page")
        verbose_name_plural = _("pages")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        if self.slug == self.ABOUT_SLUG:
            return reverse("about")
        return reverse("page", kwargs={"slug": self.slug})
