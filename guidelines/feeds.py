import datetime
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from guidelines import selectors
from guidelines.changes import FEED_EDITIONS, absolute, changes_of_editions, compare_url, label, provision_url
from guidelines.diff import ADDED, CHANGED, MOVED, REMOVED, UNCHANGED, ProvisionChange, compare_versions
from guidelines.models import Edition, Provision

# How many provisions an entry of a guideline's change feed names under each heading; the compare page has all.
ITEM_PROVISIONS = 50
CHANGE_HEADINGS = {
    CHANGED: _("Changed"),
    ADDED: _("Added"),
    REMOVED: _("Removed"),
    MOVED: _("Moved or renumbered"),
}


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


def _moment(day):
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def _tag(edition, path):
    # A tag URI (RFC 4151): stable whatever host served the feed, so readers never show an entry twice.
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"tag:{domain},{edition.published_on:%Y-%m-%d}:{path}"


class GuidelineChangesFeed(Feed):
    """The editions in which a guideline's text changed, newest first, each with what changed (Atom).

    Under the full-page cache like every public page; uncached it is three queries whatever the number of
    editions and provisions (see guidelines.changes)."""

    feed_type = Atom1Feed

    def get_object(self, request, guideline):
        return selectors.guideline_state(guideline)

    def title(self, state):
        return _("%(guideline)s: changes") % {"guideline": state.guideline.title}

    def subtitle(self, state):
        return _("Provisions added, removed, moved or changed in each new edition of %(guideline)s.") % {
            "guideline": state.guideline.title
        }

    def link(self, state):
        return absolute(state.guideline.get_absolute_url())

    def feed_url(self, state):
        return absolute(reverse("guidelines:changes-feed", kwargs={"guideline": state.guideline.slug}))

    def items(self, state):
        return changes_of_editions(state.originals)

    def item_title(self, item):
        count = len(item.changes)
        return ngettext("%(edition)s: %(count)d change", "%(edition)s: %(count)d changes", count) % {
            "edition": item.edition.label,
            "count": count,
        }

    def item_description(self, item):
        slug = item.edition.guideline.slug
        groups = []
        for status, heading in CHANGE_HEADINGS.items():
            changes = [change for change in item.changes if change.status == status]
            rows = [
                {
                    "label": label(change.version),
                    "url": provision_url(slug, item.edition if change.new else item.previous, change.provision),
                }
                for change in changes[:ITEM_PROVISIONS]
            ]
            if changes:
                groups.append({"heading": heading, "rows": rows, "more": len(changes) - len(rows)})
        return render_to_string(
            "guidelines/feeds/edition_changes.html",
            {"item": item, "groups": groups, "compare_url": compare_url(slug, item.previous, item.edition)},
        )

    def item_link(self, item):
        return compare_url(item.edition.guideline.slug, item.previous, item.edition)

    def item_guid(self, item):
        return _tag(item.edition, f"guidelines/{item.edition.guideline_id}/changes/{item.edition.pk}")

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return _moment(item.edition.published_on)

    def item_updateddate(self, item):
        return _moment(item.edition.published_on)

    def item_categories(self, item):
        return sorted(item.counts())


@dataclass
class ProvisionFeedSubject:
    state: selectors.GuidelineState
    provision: Provision
    timeline: list


@dataclass
class ProvisionItem:
    guideline: object
    edition: object
    previous_edition: object
    provision: Provision
    change: ProvisionChange

    @property
    def pinned_url(self):
        # A removed provision's last text is in the edition before the one that removed it.
        edition = self.edition if self.change.new else self.previous_edition
        return provision_url(self.guideline.slug, edition, self.provision)

    @property
    def compare_url(self):
        return compare_url(self.guideline.slug, self.previous_edition, self.edition, self.provision)


class ProvisionChangesFeed(GuidelineChangesFeed):
    """The editions in which one provision was added, removed, moved or renumbered, or changed, with the redline
    (Atom). Four queries: the guideline and its editions, the provision, its versions.

    One instance serves every request (it is the URL's view), so what a request loads lives in the subject
    get_object returns, never on self."""

    def get_object(self, request, guideline, provision):
        state = selectors.guideline_state(guideline)
        target = get_object_or_404(Provision, guideline=state.guideline, slug=provision)
        timeline, _versions = selectors.provision_timeline(state, target)
        return ProvisionFeedSubject(state, target, timeline)

    def title(self, subject):
        latest = next((entry["version"] for entry in reversed(subject.timeline) if entry["version"]), None)
        name = latest.numbered_heading if latest else subject.provision.slug
        return _("%(guideline)s, %(provision)s: changes") % {
            "guideline": subject.state.guideline.title,
            "provision": name,
        }

    def subtitle(self, subject):
        return _("Each edition in which this provision was added, removed, moved or renumbered, or changed.")

    def _kwargs(self, subject):
        return {"guideline": subject.state.guideline.slug, "provision": subject.provision.slug}

    def link(self, subject):
        return absolute(reverse("guidelines:provision-history", kwargs=self._kwargs(subject)))

    def feed_url(self, subject):
        return absolute(reverse("guidelines:provision-feed", kwargs=self._kwargs(subject)))

    def items(self, subject):
        items = []
        for entry in subject.timeline:
            change = compare_versions(entry["previous"], entry["version"])
            if change.status != UNCHANGED:
                guideline = subject.state.guideline
                items.append(
                    ProvisionItem(guideline, entry["edition"], entry["previous_edition"], subject.provision, change)
                )
        items.reverse()
        return items[:FEED_EDITIONS]

    def item_title(self, item):
        return f"{item.edition.label}: {CHANGE_HEADINGS[item.change.status]} — {item.change.version.numbered_heading}"

    def item_description(self, item):
        return render_to_string("guidelines/feeds/provision_change.html", {"item": item, "change": item.change})

    def item_link(self, item):
        return item.pinned_url

    def item_guid(self, item):
        return _tag(item.edition, f"guidelines/{item.guideline.pk}/provisions/{item.provision.uid}/{item.edition.pk}")

    def item_categories(self, item):
        return [item.change.status]
