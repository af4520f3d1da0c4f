from django import template
from django.db import DatabaseError

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
