from urllib.parse import urljoin

from django import template
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from society import chrome
from society.formats import format_money
from society.i18n import language_alternates, language_links
from society.models import Page
from society.page_cache import content_token

register = template.Library()


@register.simple_tag
def navigation_pages():
    """Pages staff put in the footer navigation, except About, which the footer always links to.

    Kept in the cache under the public content version (which any save of a page bumps): every signed-in page
    and every uncached public page shows the footer, and the query was a tenth of a member page's time."""
    token = content_token()
    key = f"navigation-pages:{token}" if token else None
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


@register.simple_tag
def form_fields(form):
    """A form's fields in the site's markup: label, input, help and errors tied together for screen readers.

    Written here rather than as a template loop: for a dozen fields the loop's lookups were as much work as the
    widgets themselves (a profile page's largest part)."""
    parts = []
    if form.non_field_errors():
        parts.append(format_html('<div class="notice notice--error" role="alert">{}</div>', form.non_field_errors()))
    parts.extend(str(field) for field in form.hidden_fields())
    for field in form.visible_fields():
        errors = field.errors
        checkbox = field.widget_type == "checkbox"
        classes = (
            "form-field" + (" form-field--error" if errors else "") + (" form-field--checkbox" if checkbox else "")
        )
        label = format_html('<label for="{}">{}</label>', field.id_for_label, field.label)
        control = format_html("{} {}", field, label) if checkbox else format_html("{}{}", label, field)
        help_text = (
            format_html('<span class="helptext" id="{}_helptext">{}</span>', field.auto_id, mark_safe(field.help_text))
            if field.help_text
            else ""
        )
        parts.append(
            format_html('<div class="{}">\n  {}\n  {}\n  {}\n</div>', classes, control, help_text, errors or "")
        )
    return mark_safe("\n".join(parts))


@register.filter
def absolute_url(url: str) -> str:
    """`{{ article.image.url|absolute_url }}` for link previews: a media path on the site's address, and a media URL
    that is already absolute (object storage, STORAGE_URL) as it is."""
    return urljoin(settings.SITE_URL + "/", url)


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
    if request is None:
        return {"alternates": []}
    # The same for every visitor and language of a path: kept per process (society/chrome.py).
    key = ("hreflang", request.path, request.resolver_match is not None)
    return {"alternates": chrome.memoised(key, lambda: language_alternates(request))}


@register.simple_tag(takes_context=True)
def site_header(context):
    return chrome.site_header(context)


@register.simple_tag(takes_context=True)
def site_footer(context):
    return chrome.site_footer(context)
