"""Public pages for anonymous readers, rendered once into the cache and answered from it, with HTTP caching
headers a CDN can act on.

A page is taken from or stored to the cache only for a request that carries no session or messages cookie:
such a request is anonymous without loading a session, and its page holds nothing of any one visitor. A
signed-in member or staff (who carry the session cookie) always gets a fresh page, marked `private, no-store`.

Every entry records the content version it was rendered under; publishing anything the public pages show
bumps the version (see `bump_content_version`), so the next request renders afresh and a publish shows at
once. A cache error is a miss (society.cache.FailSoftRedisCache): the page is then rendered as usual.
"""

import hashlib
import re
import secrets
import time
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date, parse_http_date_safe

from society.cache import LocalLRU
from society.models import NewsArticle

VERSION_KEY = "page-cache:version"
# Public pages outside i18n_patterns: the same bytes in every language.
PUBLIC_UNPREFIXED = re.compile(r"^/(robots\.txt|sitemap\.xml|sitemap-[\w-]+\.xml)$")
_WHITESPACE = re.compile(r"\s+")


def content_version() -> int | None:
    return cache.get(VERSION_KEY)


def content_token() -> str | None:
    """The current content version's token, starting one when there is none yet (a fresh cache, or one that
    lost it); None while the cache is away."""
    version = content_version()
    if version is None:
        bump_content_version()
        version = content_version()
    return version["token"] if isinstance(version, dict) else None


def bump_content_version() -> None:
    """Every cached public page is out of date from now on. Random rather than an increment, so a version lost
    with the cache never comes back as an old value that matches old entries. It carries the moment the next
    scheduled article goes live, found here on a write rather than on every page stored."""
    cache.set(VERSION_KEY, {"token": secrets.token_hex(8), "until": _next_publish()}, timeout=None)


# What the public pages show: a save of any of these makes every cached public page out of date. A list of what
# counts, not of what does not: delivery rows (emails, webhooks), subscriptions, exports and history records
# change all the time without changing a page, and each new table of that kind would otherwise empty the cache.
CONTENT_MODELS = {
    "society.topic",
    "society.newsarticle",
    "society.page",
    "guidelines.guideline",
    "guidelines.edition",
    "guidelines.provision",
    "guidelines.provisionversion",
}


def is_content_model(model) -> bool:
    # The table behind a many-to-many field (an article's topics) counts as the model that owns the field.
    owner = model._meta.auto_created or model
    return owner._meta.label_lower in CONTENT_MODELS


def _content_changed(sender, **kwargs):
    if is_content_model(sender):
        # Now, and again after commit: a page rendered between the first bump and the commit was stored under
        # that version without the change.
        bump_content_version()
        transaction.on_commit(bump_content_version)


def connect_content_signals() -> None:
    """A signal and not the publishing services alone: staff edit pages, topics, articles and provisions in the
    admin, and any save of what a public page shows must reach readers at once, whatever path it took."""
    for name, signal in (("save", post_save), ("delete", post_delete), ("m2m", m2m_changed)):
        signal.connect(_content_changed, dispatch_uid=f"page_cache_{name}")


def is_public_request(request) -> bool:
    return getattr(request, "language_from_url", False) or bool(PUBLIC_UNPREFIXED.match(request.path_info))


def is_anonymous_request(request) -> bool:
    # Decided from the cookies alone, so an anonymous page never loads a session to find out.
    return not any(name in request.COOKIES for name in (settings.SESSION_COOKIE_NAME, "messages"))


def normalised_query(query_string: str) -> str:
    """`?q=Lead  limits&edition=2` and `?edition=2&q=lead limits ` are the same page of results."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return urlencode(sorted((key, _WHITESPACE.sub(" ", value).strip()) for key, value in pairs))


# Versions of the code that renders public pages (templates, markup rules), registered by the apps that own them:
# a page rendered before a deploy changed one is never served after it, whatever the content version.
RENDER_VERSIONS = []


def register_render_version(version) -> None:
    """`version`: a callable returning the app's current render version, read at each request."""
    RENDER_VERSIONS.append(version)


def page_key(request) -> str:
    raw = "\n".join(
        [
            *(version() for version in RENDER_VERSIONS),
            request.scheme,
            request.get_host(),
            request.LANGUAGE_CODE,
            request.path,
            normalised_query(request.GET.urlencode()),
        ]
    )
    return "page-cache:page:" + hashlib.sha256(raw.encode()).hexdigest()


def public_cache_control(response) -> None:
    patch_cache_control(
        response,
        public=True,
        max_age=settings.PUBLIC_PAGE_MAX_AGE,
        stale_while_revalidate=settings.PUBLIC_PAGE_STALE_WHILE_REVALIDATE,
    )


def _storable(request, response) -> bool:
    session = getattr(request, "session", None)
    return (
        request.method == "GET"
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not response.has_header("Cache-Control")
        and not (session is not None and session.modified)
    )


# The pages this worker served last, as they are in Redis: a hit then asks Redis only for the small version
# key instead of the whole page (an edition is 60 KiB to 1.1 MB), and reads no pickle. Still checked against
# the version on every request, so a publish in any worker is seen by all at once.
local_pages = LocalLRU(500, max_weight=32 * 1024 * 1024, weight=lambda entry: len(entry["content"]))


def _forget_local_pages(**kwargs):
    # What a page shows depends on settings (names, URLs, the cache itself) that tests override.
    local_pages.clear()


setting_changed.connect(_forget_local_pages, dispatch_uid="page_cache_forget_local")


def _is_current(entry, version) -> bool:
    return (
        entry is not None
        and version is not None
        and entry["version"] == version
        and (version["until"] is None or time.time() < version["until"])
    )


def _cached_entry(key):
    """(content version, the current entry for `key` or None): from this worker's memory when it holds the
    current one, else from Redis in the same round trip as the version."""
    local = local_pages.get(key)
    if local is not None:
        version = content_version()
        if _is_current(local, version):
            return version, local
        entry = cache.get(key) if version is not None else None
    else:
        found = cache.get_many([VERSION_KEY, key])
        version, entry = found.get(VERSION_KEY), found.get(key)
    if not _is_current(entry, version):
        return version, None
    local_pages.set(key, entry)
    return version, entry


def _from_entry(entry) -> HttpResponse:
    response = HttpResponse(entry["content"], status=entry["status"])
    for name, value in entry["headers"]:
        response.headers[name] = value
    return response


def _next_publish() -> float | None:
    """A scheduled news article appears with no write to announce it: no entry is served past its moment."""
    upcoming = NewsArticle.objects.scheduled().order_by("publish_at").values_list("publish_at", flat=True).first()
    return None if upcoming is None else upcoming.timestamp()


class PublicPageCacheMiddleware:
    """Between LanguageMiddleware (the language is known) and the session, CSRF and auth middleware (which a
    cached page never needs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        public = is_public_request(request)
        anonymous = is_anonymous_request(request)
        if not (public and anonymous):
            response = self.get_response(request)
            if not response.has_header("Cache-Control"):
                # Members' and staff pages, and a public page as a member sees it: never stored by anyone.
                patch_cache_control(response, private=True, no_store=True)
            return response
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)

        use_cache = settings.PAGE_CACHE_ENABLED
        if use_cache:
            key = page_key(request)
            version, entry = _cached_entry(key)
            if entry is not None:
                return self._conditional(request, _from_entry(entry))

        response = self.get_response(request)
        if response.status_code == 304 and not response.cookies:
            # A view's own revalidation (guidelines.caching) of what this middleware would otherwise store.
            patch_vary_headers(response, ("Cookie",))
            public_cache_control(response)
            return response
        if not _storable(request, response):
            if not response.has_header("Cache-Control"):
                patch_cache_control(response, private=True, no_store=True)
            return response
        # The page shows the signed-in state, so it depends on the session cookie (absent here).
        patch_vary_headers(response, ("Cookie",))
        if not response.has_header("ETag"):
            digest = hashlib.md5(response.content, usedforsecurity=False).hexdigest()
            response.headers["ETag"] = f'"{digest}"'
        if not response.has_header("Last-Modified"):
            response.headers["Last-Modified"] = http_date()
        public_cache_control(response)
        if use_cache:
            if version is None or (version["until"] is not None and time.time() >= version["until"]):
                # No version yet, or a scheduled article has gone live since: a new one for the pages from now.
                bump_content_version()
                version = content_version()
            if version is not None:
                entry = {
                    "version": version,
                    "status": response.status_code,
                    "headers": list(response.items()),
                    "content": response.content,
                }
                cache.set(key, entry, timeout=settings.PAGE_CACHE_TIMEOUT)
                local_pages.set(key, entry)
        return self._conditional(request, response)

    @staticmethod
    def _conditional(request, response):
        return get_conditional_response(
            request,
            etag=response.headers.get("ETag"),
            last_modified=parse_http_date_safe(response.headers.get("Last-Modified", "")),
            response=response,
        )
