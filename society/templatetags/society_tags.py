from django import template
from django.db import DatabaseError

from society.formats import format_money
from society.i18n import language_alternates, language_links
from society.models import Page

register = template.Library()


@register.simple_tag
def navigation_pages():
    """Pages staff put in the footer navigation, except About, which the footer always links to."""
    try:
        return list(Page.objects.in_navigation().exclude(slug=Page.ABOUT_SLUG).only("title", "slug"))
    except DatabaseError:
        # The footer is also part of the 500 page, which must render while the database is down.
        return []


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
