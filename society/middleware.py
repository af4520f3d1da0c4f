"""Request guards that run before any view: text that cannot be text never reaches a form, a filter or the
database; and the language of a request (the URL's for public pages, else the member's profile, cookie or
browser)."""

from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpResponseRedirect
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers

from society.i18n import is_public_path
from society.page_cache import PUBLIC_UNPREFIXED, is_anonymous_request

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _is_text(raw: bytes) -> bool:
    """Valid UTF-8 without a NUL byte: PostgreSQL refuses NUL in any text value (a 500 deep inside a query),
    and Django would quietly turn invalid UTF-8 into U+FFFD, so a value would differ from what was sent."""
    try:
        return "\x00" not in raw.decode("utf-8")
    except UnicodeDecodeError:
        return False


def _wsgi_bytes(value: str) -> bytes:
    # WSGI hands over the raw bytes of the path and query string as ISO-8859-1 text; ASGI hands over real text.
    try:
        return value.encode("iso-8859-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def is_malformed(request) -> bool:
    # Django has already re-percent-encoded invalid UTF-8 in the path ("/%FF/"); decoding once more finds it
    # (and a literal "%25FF", which no URL of the site contains either).
    path = unquote_to_bytes(request.path_info)
    query = unquote_to_bytes(_wsgi_bytes(request.META.get("QUERY_STRING", "")).replace(b"+", b" "))
    if not (_is_text(path) and _is_text(query)):
        return True
    content_type = request.content_type or ""
    if request.method != "POST" or content_type not in FORM_CONTENT_TYPES:
        return False  # JSON bodies (Stripe's webhook) are parsed, checked and refused by their own views
    if content_type == "application/x-www-form-urlencoded":
        return not _is_text(unquote_to_bytes(request.body.replace(b"+", b" ")))
    # Multipart fields arrive decoded (invalid UTF-8 already replaced); a NUL byte still shows.
    return any("\x00" in key or "\x00" in value for key, values in request.POST.lists() for value in values)


class MalformedInputMiddleware:
    """Answer 400 with a page that says why, before any view runs, when the path, the query string or a form
    field holds a NUL byte or invalid UTF-8. Nothing is read from or written to the database for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_malformed(request):
            return render(request, "society/malformed_request.html", status=400)
        return self.get_response(request)


class LanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware serves every unprefixed URL in English once i18n_patterns use an unprefixed
    default language. Here that holds only for public pages; member, account and admin pages, which have no
    prefix, follow the language cookie (the switcher) or Accept-Language, and MemberLanguageMiddleware then
    prefers the signed-in member's profile."""

    def process_request(self, request):
        urlconf = getattr(request, "urlconf", settings.ROOT_URLCONF)
        from_path = translation.get_language_from_path(request.path_info)
        request.language_from_url = (
            bool(from_path)
            or bool(PUBLIC_UNPREFIXED.match(request.path_info))
            or is_public_path(request.path_info, urlconf)
        )
        if redirect_to := self._browser_language_home(request, from_path):
            return redirect_to
        if from_path:
            language = from_path
        elif request.language_from_url:
            language = settings.LANGUAGE_CODE
        else:
            language = translation.get_language_from_request(request, check_path=False)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    @staticmethod
    def _browser_language_home(request, from_path):
        """The unprefixed home is the site's front door: a first visit whose browser prefers a language of the
        site goes to that language's home. Only there: every other public URL is one page in one language
        (hreflang alternates), so a link someone shared, and what a search engine indexed, reads the same for
        everyone, and shared caches need not keep one copy per Accept-Language. A language cookie (the
        switcher's choice, English included) or a session (a member) is left alone."""
        if request.path_info != "/" or from_path or request.method not in ("GET", "HEAD"):
            return None
        if settings.LANGUAGE_COOKIE_NAME in request.COOKIES or not is_anonymous_request(request):
            return None
        language = translation.get_language_from_request(request, check_path=False)
        if language == settings.LANGUAGE_CODE:
            return None
        response = HttpResponseRedirect(f"/{language}/")
        response["Cache-Control"] = "private, max-age=0"
        return response

    def process_response(self, request, response):
        # The URL alone decides a public page's language: caches need no Vary on the browser's languages,
        # except on the unprefixed home, which sends a browser to its language's home (see above).
        if not getattr(request, "language_from_url", False) or request.path_info == "/":
            patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class MemberLanguageMiddleware:
    """After authentication: a signed-in member's saved language wins on pages without a language in the URL,
    so their account pages read as their emails do, on any device."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not getattr(request, "language_from_url", True) and request.user.is_authenticated:
            language = getattr(request.user, "language", "")
            if language and translation.check_for_language(language):
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
