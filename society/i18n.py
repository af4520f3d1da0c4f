"""Which language a URL is in, and the same page in the other languages (the footer switcher, hreflang).

Public pages (home, about, pages, news, guidelines) are served under a language prefix, English unprefixed;
member, account and admin URLs have no prefix and take the member's or the browser's language.
"""

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.urls import Resolver404, get_resolver, reverse, translate_url
from django.urls.resolvers import LocalePrefixPattern
from django.utils import translation


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    url: str
    current: bool


def _public_resolvers(urlconf=None):
    return [
        pattern
        for pattern in get_resolver(urlconf).url_patterns
        if isinstance(getattr(pattern, "pattern", None), LocalePrefixPattern)
    ]


def is_public_path(path: str, urlconf=None) -> bool:
    """True when `path` is a page of i18n_patterns, in any language (prefixed or English unprefixed)."""
    language = translation.get_language_from_path(path) or settings.LANGUAGE_CODE
    with translation.override(language):
        for resolver in _public_resolvers(urlconf):
            try:
                # The root resolver strips the leading "/" before handing a path to its children.
                resolver.resolve(path.removeprefix("/"))
            except Resolver404:
                continue
            return True
    return False


def language_links(request) -> list[LanguageLink]:
    """Every language with the URL of this page in it: the language-prefixed page for public pages (a plain
    link, no cookie), else (and for English) the switch view that remembers the choice and goes there."""
    path = request.get_full_path()
    public = is_public_path(request.path_info)
    current = translation.get_language()
    links = []
    for code, _name in settings.LANGUAGES:
        target = translate_url(path, code) if public else path
        # English has no prefix, and the unprefixed home sends a browser preferring another language to that
        # language's home: choosing English goes through the switch view, whose cookie makes the choice stick.
        if public and code != settings.LANGUAGE_CODE:
            url = target
        else:
            url = f"{reverse('language-switch', args=[code])}?next={quote(target)}"
        info = translation.get_language_info(code)
        links.append(LanguageLink(code=code, name=info["name_local"], url=url, current=code == current))
    return links


def language_alternates(request) -> list[tuple[str, str]]:
    """(hreflang, absolute URL) for every language of a public page and x-default (English, unprefixed);
    empty for pages that exist in one language only."""
    if request.resolver_match is None or not is_public_path(request.path_info):
        return []
    path = request.path
    alternates = [(code, settings.SITE_URL + translate_url(path, code)) for code, _name in settings.LANGUAGES]
    return [*alternates, ("x-default", settings.SITE_URL + translate_url(path, settings.LANGUAGE_CODE))]


# Postgres ICU collations (pg_collation) for the site's languages; the root collation for the rest.
ICU_COLLATIONS = {"zh-hans": "zh-Hans-x-icu"}


def icu_collation(language: str | None) -> str:
    """The ICU collation that sorts text as readers of `language` expect, for ORDER BY ... COLLATE."""
    if language in ICU_COLLATIONS:
        return ICU_COLLATIONS[language]
    return f"{language}-x-icu" if language in dict(settings.LANGUAGES) else "und-x-icu"
