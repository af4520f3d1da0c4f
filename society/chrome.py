"""The header, footer and hreflang links every page shares, rendered once per worker process.

They were a third of a signed-in member's page and more of an uncached public one (the footer's language
links and the hreflang alternates resolve and reverse the page's URL once per language), yet they depend on
a handful of values: the language, the navigation section, whether the visitor is signed in and may open the
directory, the page's path, the content version (footer pages) and the year. Each rendering is kept in a small
per-process LRU under exactly those values; nothing per visitor is kept except through the CSRF token, which
is rendered as a placeholder and put back on the way out, so the kept markup holds no visitor's secret.
"""

import secrets

from django.core.signals import setting_changed
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from society.cache import LocalLRU
from society.page_cache import content_token

# Hex only: HTML escaping leaves it as it is, so it survives {% csrf_token %}'s format_html unchanged.
CSRF_PLACEHOLDER = "csrf" + secrets.token_hex(16)


# Header and footer: a few kinds of visitor x sections x languages, and one footer per page path (its language
# links name the page); 2,000 entries of 2-4 KiB is a few MiB per worker.
fragments = LocalLRU(2000)


def _forget(**kwargs):
    # The kept markup depends on settings (names, URLs, languages) that tests override.
    fragments.clear()


setting_changed.connect(_forget, dispatch_uid="society_chrome_forget")


def memoised(key, compute):
    """compute() once per key in this process; a key of None (something it depends on is unknown) always
    computes."""
    if key is None:
        return compute()
    value = fragments.get(key)
    if value is None:
        value = compute()
        fragments.set(key, value)
    return value


def _render(context, template_name):
    template = context.template.engine.get_template(template_name)
    with context.push(csrf_token=CSRF_PLACEHOLDER):
        return template.render(context)


def _with_csrf(context, html):
    if CSRF_PLACEHOLDER not in html:
        return mark_safe(html)
    token = context.get("csrf_token")
    # The same value {% csrf_token %} would have printed: nothing when the view has no token.
    value = "" if not token or str(token) == "NOTPROVIDED" else str(token)
    if not value:
        html = html.replace(f'<input type="hidden" name="csrfmiddlewaretoken" value="{CSRF_PLACEHOLDER}">', "")
    return mark_safe(html.replace(CSRF_PLACEHOLDER, value))


def site_header(context):
    user = context.get("user")
    signed_in = bool(getattr(user, "is_authenticated", False))
    directory = bool(context.get("may_open_directory")) if signed_in else False
    key = ("header", get_language(), context.get("nav_section", ""), signed_in, directory)
    html = memoised(key, lambda: _render(context, "includes/_header.html"))
    return _with_csrf(context, html)


def site_footer(context):
    request = context.get("request")
    token = content_token()
    key = None
    if request is not None and token is not None:
        key = ("footer", get_language(), request.get_full_path(), token, timezone.now().year)
    html = memoised(key, lambda: _render(context, "includes/_footer.html"))
    return _with_csrf(context, html)
