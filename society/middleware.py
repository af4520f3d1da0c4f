"""The language of a request: the URL's for public pages, else the member's profile, cookie or browser."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers

from society.i18n import is_public_path


class LanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware serves every unprefixed URL in English once i18n_patterns use an unprefixed
    default language. Here that holds only for public pages; member, account and admin pages, which have no
    prefix, follow the language cookie (the switcher) or Accept-Language, and MemberLanguageMiddleware then
    prefers the signed-in member's profile."""

    def process_request(self, request):
        urlconf = getattr(request, "urlconf", settings.ROOT_URLCONF)
        from_path = translation.get_language_from_path(request.path_info)
        request.language_from_url = bool(from_path) or is_public_path(request.path_info, urlconf)
        if from_path:
            language = from_path
        elif request.language_from_url:
            language = settings.LANGUAGE_CODE
        else:
            language = translation.get_language_from_request(request, check_path=False)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        # The URL alone decides a public page's language: caches need no Vary on the browser's languages.
        if not getattr(request, "language_from_url", False):
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
