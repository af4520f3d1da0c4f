"""Published editions never change, so their pages are cached and revalidated cheaply.

Two layers:
- the expensive part of a page (the provisions, a comparison) is rendered once into the cache, keyed by
  the editions involved and the guideline's set of published editions (a new edition changes banners and
  history tags, so it changes the key);
- the response carries an ETag (and Last-Modified), so a revalidating browser gets a 304 without a render.
  The page around the cached part holds per-visitor bits (the header and its logout form when logged in), so
  the ETag includes the visitor's session state; whether the response is public (anonymous) or private is
  society.page_cache's decision, as for every page. The language is the URL's
  (/es/guidelines/…), so anonymous readers get no cookie and caches need not vary on Accept-Language.
"""

import datetime
import hashlib

from django.core.cache import cache
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import get_language

FRAGMENT_TIMEOUT = 60 * 60 * 24 * 7
# Part of every fragment key and ETag: bump it when the markup of a cached page changes, or for a week after
# a deploy readers get fragments (and 304s) rendered by the old templates. 2: heading levels from the tree.
# 3: links to the change feeds. 4: the contents in a <details>, a skip link to the text.
RENDER_VERSION = "4"


def cached_fragment(key, render):
    """The cached HTML for `key`, rendering and storing it on a miss."""
    key = "guidelines:" + hashlib.sha256(f"{RENDER_VERSION}:{key}".encode()).hexdigest()
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, FRAGMENT_TIMEOUT)
    return html


def _etag(request, key):
    visitor = [
        str(request.user.pk or 0) if hasattr(request, "user") else "0",
        get_language() or "",
        request.META.get("CSRF_COOKIE", ""),
    ]
    digest = hashlib.sha256("|".join([RENDER_VERSION, key, *visitor]).encode()).hexdigest()[:32]
    return f'"{digest}"'


def conditional(request, key, last_modified: datetime.date | None, respond):
    """Answer 304 when the browser's copy is still right, otherwise the response `respond()` builds."""
    etag = _etag(request, key)
    timestamp = None
    if last_modified is not None:
        moment = datetime.datetime.combine(last_modified, datetime.time(), tzinfo=datetime.UTC)
        timestamp = int(moment.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if response is None:
        response = respond()
    response.headers["ETag"] = etag
    if timestamp is not None:
        response.headers["Last-Modified"] = http_date(timestamp)
    patch_vary_headers(response, ["Cookie"])
    return response
