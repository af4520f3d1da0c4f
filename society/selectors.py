"""Reads for the home page that span apps: live membership figures, the call to action, guideline editions."""

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from guidelines.models import Edition
from members.models import Membership, MembershipStatus
from members.models.memberships import RENEWABLE_STATUSES
from members.selectors import membership_status_for_user

FIGURES_CACHE_KEY = "society:home:figures"
FIGURES_CACHE_SECONDS = 60 * 60


@dataclass(frozen=True)
class Figures:
    members: int
    countries: int


def society_figures() -> Figures:
    """Members with access and the countries they live in. Cached for an hour: a 4,000-row count on every
    visit to the home page buys nothing, and the figure is a headline, not an account balance."""
    cached = cache.get(FIGURES_CACHE_KEY)
    if cached is not None:
        return Figures(**cached)
    totals = Membership.objects.with_access().aggregate(
        members=Count("pk"), countries=Count("user__country", distinct=True, filter=~Q(user__country=""))
    )
    cache.set(FIGURES_CACHE_KEY, totals, FIGURES_CACHE_SECONDS)
    return Figures(**totals)


@dataclass(frozen=True)
class CallToAction:
    label: Promise
    url: str
    kind: str


def call_to_action_for(user) -> CallToAction:
    """Join for visitors, Renew for members in their renewal window, grace period or lapsed, else My membership."""
    if not getattr(user, "is_authenticated", False):
        return CallToAction(_("Join the society"), reverse("account_signup"), "join")
    status = membership_status_for_user(user)
    if status in RENEWABLE_STATUSES:
        return CallToAction(_("Renew your membership"), reverse("members:renew"), "renew")
    if status == MembershipStatus.ACTIVE:
        return CallToAction(_("My membership"), reverse("members:home"), "membership")
    # Signed in without a membership (or one awaiting approval): the membership page shows the way on.
    return CallToAction(_("Become a member"), reverse("members:home"), "join")


def current_guideline_editions():
    """The current edition of each guideline, in the library's order, with its guideline loaded."""
    return list(Edition.objects.current().select_related("guideline").order_by("guideline__order", "guideline__title"))


def featured_edition(editions):
    """Of the current editions, the one published last: the home page's featured guideline."""
    published = [edition for edition in editions if edition.published_on]
    return max(published, key=lambda edition: (edition.published_on, edition.pk), default=None)
