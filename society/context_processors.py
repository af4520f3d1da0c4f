from django.conf import settings
from django.utils.functional import SimpleLazyObject

from members.selectors.access import request_member_access

# The main navigation's section for each URL namespace or name; anything under /accounts/ that a signed-in
# member reaches (email, password, two-factor) belongs to their profile, and only the login page itself to
# "Log in": sign-up and password reset are not logging in.
_SECTION_OF_NAMESPACE = {"guidelines": "guidelines", "news": "news"}
_SECTION_OF_MEMBER_PAGE = {"directory": "directory", "profile": "profile", "profile-delete": "profile"}
_ACCOUNT_PREFIXES = ("account_", "mfa_", "socialaccount_", "orcid_")


def nav_section(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.namespace in _SECTION_OF_NAMESPACE:
        return _SECTION_OF_NAMESPACE[match.namespace]
    if match.namespace == "members":
        return _SECTION_OF_MEMBER_PAGE.get(match.url_name, "membership")
    name = match.url_name or ""
    if name == "home":
        return "home"
    if name == "account_login":
        return "login"
    if name.startswith(_ACCOUNT_PREFIXES) and request.user.is_authenticated:
        return "profile"
    return ""


def site(request):
    return {
        "SOCIETY_NAME": settings.SOCIETY_NAME,
        "SOCIETY_SHORT_NAME": settings.SOCIETY_SHORT_NAME,
        "SITE_URL": settings.SITE_URL,
        "nav_section": nav_section(request),
        # Lazy: only the signed-in header asks, so an anonymous (cached) page never runs the query.
        "may_open_directory": SimpleLazyObject(lambda: request_member_access(request)),
    }
