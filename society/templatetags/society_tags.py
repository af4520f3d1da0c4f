from django import template
from django.core.cache import cache
from django.db import DatabaseError

from society.formats import format_money
from society.i18n import language_alternates, language_links
from society.models import Page
from society.page_cache import content_version

register = template.Library()


@register.simple_tag
def navigation_pages():
    """Pages staff put in the footer navigation, except About, which the footer always links to.

    Kept in the cache under the public content version (which any save of a page bumps): every signed-in page
    and every uncached public page shows the footer, and the query was a tenth of a member page's time."""
    version = content_version()
    key = f"navigation-pages:{version['token']}" if isinstance(version, dict) else None
    pages = cache.get(key) if key else None
    if pages is not None:
        return pages
    try:
        pages = list(Page.objects.in_navigation().exclude(slug=Page.ABOUT_SLUG).only("title", "slug"))
    except DatabaseError:
        # The footer is also part of the 500 page, which must render while the database is down.
        return []
    if key:
        cache.set(key, pages, timeout=3600)
    return pages


@register.filter
def money(amount, currency=None):
    """`{{ order.amount|money:order.currency }}`: the amount in the active locale's currency format."""
    return format_money(amount, currency)


@register.simple_tag(takes_context=True)
def page_languages(context):
    """The footer switcher's links: this page in every language."""
    request = context.get("request")
    return language_links(request) if request is not None else []


@register.inclusion_tag("includes/_hreflang.html", takes_context=True)
def hreflang_links(context):
    request = context.get("request")
    return {"alternates": language_alternates(request) if request is not None else []}
