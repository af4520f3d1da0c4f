"""Staff powers start only after MFA in this session (society.access): every URL pattern of the site is walked
as a plain member, as staff who signed in with a password only, and as staff who passed MFA."""

import time

import pytest
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib import admin
from django.contrib.sessions.backends.db import SessionStore
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.clients import Client
from tests.factories import DEFAULT_PASSWORD, OrderFactory, StaffFactory, UserFactory
from tests.guidelines.factories import build_edition
from tests.society.factories import NewsArticleFactory

pytestmark = pytest.mark.django_db

# The patterns where staff see more than members. The walk finds them by itself (staff who passed MFA get a
# different answer from a member); listing them here keeps the walk from passing by finding none.
STAFF_PATTERNS = {
    "members:order",
    "members:order-pdf",
    "news:preview",
    "guidelines:preview",
    "guidelines:compare",
    "guidelines:compare-provision",
}


def url_patterns(patterns=None, prefix="", namespace=""):
    """(namespace, name, route, URLPattern) for every pattern of the site, names with their namespaces."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield namespace, name, prefix + str(pattern.pattern), pattern


def pattern_url(name, route, pattern, values):
    """A concrete URL for the pattern, its arguments taken by name from `values` (the objects staff could see
    and members could not), anything else a placeholder."""
    regex = pattern.pattern.regex
    if name is None:
        assert not regex.groups, route
        return "/" + route
    if regex.groups and not regex.groupindex:  # re_path with unnamed groups (simple_history's admin pages)
        return reverse(name, args=["1"] * regex.groups)
    return reverse(name, kwargs={argument: values.get(argument, "1") for argument in regex.groupindex})


@pytest.fixture
def staff_only_things():
    """Another member's order, a draft article, a draft edition beside a published one."""
    published = build_edition(provisions=4)
    draft = build_edition(guideline=published.guideline, label="draft", provisions=4, publish=False)
    article = NewsArticleFactory(draft=True)
    return {
        "number": OrderFactory().number,
        "pk": article.pk,
        "slug": article.slug,
        "guideline": published.guideline.slug,
        "edition": draft.slug,
        "old": published.slug,
        "new": draft.slug,
        "provision": "part-1",
        "section": "guidelines",
    }


def logged_in(user, *, mfa):
    client = Client()
    client.force_login(user, mfa=mfa)
    return client


def answer(client, url):
    response = client.get(url)
    return response.status_code, response.get("Location")


def with_authenticator(user):
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.mark.parametrize("has_authenticator", [False, True], ids=["no-authenticator", "password-only-session"])
def test_every_staff_privilege_waits_for_mfa_in_this_session(staff_only_things, has_authenticator):
    plain = with_authenticator(UserFactory()) if has_authenticator else UserFactory()
    member = logged_in(plain, mfa=False)
    password_only = logged_in(StaffFactory(is_superuser=True, mfa=has_authenticator), mfa=False)
    # Staff who passed MFA are compared with a member who has too: MFA's own pages differ by that alone.
    member_with_mfa = logged_in(with_authenticator(UserFactory()), mfa=True)
    staff_with_mfa = logged_in(StaffFactory(is_superuser=True), mfa=True)

    staff_patterns, walked = set(), 0
    for namespace, name, route, pattern in url_patterns():
        if namespace == "admin":
            continue
        url = pattern_url(name, route, pattern, staff_only_things)
        assert answer(password_only, url) == answer(member, url), f"{url}: staff without MFA get more than a member"
        if answer(staff_with_mfa, url) != answer(member_with_mfa, url):
            staff_patterns.add(name)
        walked += 1
    assert walked > 60
    assert staff_patterns == STAFF_PATTERNS


def admin_urls():
    """Every named admin page, with placeholder arguments (none of them opens before MFA anyway)."""
    values = {"object_id": "1", "content_type_id": 1, "app_label": "members"}
    for namespace, name, route, pattern in url_patterns():
        if namespace == "admin" and name:
            yield name, pattern_url(name, route, pattern, values), bool(pattern.pattern.regex.groups)


def test_staff_without_an_authenticator_are_sent_to_set_one_up_from_every_admin_page():
    client = logged_in(StaffFactory(is_superuser=True, mfa=False), mfa=False)
    for _name, url, _has_arguments in admin_urls():
        assert answer(client, url) == (302, reverse("mfa_activate_totp")), url


def test_staff_signed_in_with_a_password_only_are_asked_for_a_code_on_every_admin_page():
    client = logged_in(StaffFactory(is_superuser=True), mfa=False)
    for _name, url, _has_arguments in admin_urls():
        status, location = answer(client, url)
        assert status == 302, url
        assert location.startswith(reverse("mfa_reauthenticate") + "?next="), url


def test_staff_who_passed_mfa_open_the_admin_and_every_changelist():
    client = logged_in(StaffFactory(is_superuser=True), mfa=True)
    pages = [url for name, url, _has_arguments in admin_urls() if name == "admin:index" or name.endswith("_changelist")]
    assert len(pages) > 15
    for url in pages:
        assert client.get(url).status_code == 200, url


# --- The real flows that pass MFA ------------------------------------------------------------


def current_code(secret, settings):
    return format_hotp_value(hotp_value(secret, int(time.time()) // settings.MFA_TOTP_PERIOD))


@pytest.fixture
def totp_staff(settings):
    # Accept the neighbouring 30-second window, so a code computed just before a boundary still passes.
    settings.MFA_TOTP_TOLERANCE = 1
    secret = generate_totp_secret()
    staff = StaffFactory(is_superuser=True, mfa=False)
    TOTP.activate(staff, secret)
    return staff, secret


@pytest.fixture
def draft_preview():
    return reverse("news:preview", kwargs={"pk": NewsArticleFactory(draft=True).pk})


def test_signing_in_with_password_and_code_grants_staff_powers(client, totp_staff, draft_preview, settings):
    staff, secret = totp_staff
    response = client.post(reverse("account_login"), {"login": staff.email, "password": DEFAULT_PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret, settings)})
    assert response.status_code == 302
    assert client.get(draft_preview).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_with_a_password_only_session_pass_mfa_on_the_way_into_the_admin(
    client, totp_staff, draft_preview, settings
):
    staff, secret = totp_staff
    client.force_login(staff, mfa=False)  # e.g. signed in before the authenticator was set up
    assert client.get(draft_preview).status_code == 403
    response = client.get(reverse("admin:members_order_changelist"))
    assert response.status_code == 302
    response = client.post(response["Location"], {"code": current_code(secret, settings)})
    assert response["Location"] == reverse("admin:members_order_changelist")
    assert client.get(response["Location"]).status_code == 200
    assert client.get(draft_preview).status_code == 200


# allauth records the new authenticator after commit: only a transactional test sees that happen before the
# session is saved, as it does in production.
@pytest.mark.django_db(transaction=True)
def test_activating_an_authenticator_app_passes_mfa_for_this_session(client, draft_preview, settings):
    settings.MFA_TOTP_TOLERANCE = 1
    staff = StaffFactory(is_superuser=True, mfa=False)
    client.force_login(staff)
    assert client.get(reverse("admin:index"))["Location"] == reverse("mfa_activate_totp")
    # allauth asks for the password again before an authenticator is added.
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret, settings)})
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(draft_preview).status_code == 200


def test_the_admin_site_itself_asks_for_mfa_passed_in_this_session(rf):
    """Behind the redirecting middleware, the admin's own permission check is the same predicate."""
    request = rf.get(reverse("admin:index"))  # reversing loads society.urls, which sets the admin up
    request.user = StaffFactory(is_superuser=True)
    request.session = SessionStore()
    assert not admin.site.has_permission(request)
    record_authentication(request, request.user, "password")
    assert not admin.site.has_permission(request)
    record_authentication(request, request.user, "mfa", type="totp")
    assert admin.site.has_permission(request)
