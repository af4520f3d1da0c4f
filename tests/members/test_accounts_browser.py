import re
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail

from members.models import User
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.outbox import deliver_outbox

pytestmark = pytest.mark.browser

CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)")


def log_in(page, email, password=DEFAULT_PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main form").get_by_role("button", name="Log in").click()


def test_sign_up_verify_email_then_log_in(page, axe):
    page.goto("/accounts/signup/")
    axe(page)
    page.get_by_label("Email").fill("ana@lab.example")
    page.get_by_label("Full name").fill("Nguyễn Thị Minh Khai")
    page.get_by_label("Country").select_option("VN")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_label("Password (again)").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/accounts/confirm-email/")
    assert "Verify your email address" in page.locator("h1").inner_text()
    axe(page)

    # Not verified yet: logging in only re-sends the link.
    user = User.objects.get(email="ana@lab.example")
    assert user.full_name == "Nguyễn Thị Minh Khai"
    deliver_outbox()
    assert len(mail.outbox) == 1
    path = CONFIRM_LINK.search(mail.outbox[0].body).group(1)

    page.goto(path)
    axe(page)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/login/")

    log_in(page, "ana@lab.example")
    page.wait_for_url("**/")
    assert page.get_by_role("button", name="Log out").is_visible()
    page.goto("/membership/profile/")
    assert page.get_by_label("Full name").input_value() == "Nguyễn Thị Minh Khai"
    axe(page)


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/password/reset/"])
def test_entrance_pages_have_no_accessibility_violations(page, axe, path):
    page.goto(path)
    assert page.locator("h1").count() == 1
    axe(page)


def test_login_errors_and_reset_pages_have_no_accessibility_violations(page, axe):
    UserFactory(email="ana@lab.example")
    log_in(page, "ana@lab.example", "wrong password")
    assert page.locator(".errorlist, .notice--error").first.is_visible()
    axe(page)
    page.goto("/accounts/password/reset/")
    page.get_by_label("Email").fill("ana@lab.example")
    page.get_by_role("button", name="Reset my password").click()
    page.wait_for_url("**/accounts/password/reset/done/")
    axe(page)


def test_staff_sets_up_totp_before_the_admin_and_mfa_pages_are_accessible(page, axe, settings):
    # Accept the neighbouring 30-second window, so a code computed just before a boundary still passes.
    settings.MFA_TOTP_TOLERANCE = 1
    staff = StaffFactory(email="staff@society.example", is_superuser=True, mfa=False)
    log_in(page, staff.email)
    page.goto("/admin/")
    # Sent to set up an authenticator; allauth first asks for the password again.
    page.wait_for_url(re.compile(r".*/accounts/reauthenticate/.*"))
    axe(page)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    axe(page)

    secret = page.locator("#authenticator_secret").input_value()
    code = format_hotp_value(hotp_value(secret, int(time.time()) // settings.MFA_TOTP_PERIOD))
    page.get_by_label("Authenticator code").fill(code)
    page.get_by_role("button", name="Activate").click()
    page.wait_for_url("**/accounts/2fa/recovery-codes/")
    assert page.get_by_text("Authenticator app activated.").is_visible()
    axe(page)
    page.goto("/accounts/2fa/")
    axe(page)
    page.goto("/admin/")
    assert page.locator("#site-name").is_visible()


def test_mfa_login_step_is_accessible(page, axe):
    member = UserFactory(email="ana@lab.example")
    TOTP.activate(member, generate_totp_secret())
    log_in(page, member.email)
    page.wait_for_url("**/accounts/2fa/authenticate/")
    axe(page)


@pytest.mark.parametrize("has_access", [True, False], ids=["member", "lapsed"])
def test_directory_pages_have_no_accessibility_violations(page, axe, has_access):
    import datetime

    from tests.factories import MembershipFactory, TermFactory

    viewer = UserFactory()
    listed = UserFactory(full_name="Nguyễn Thị Minh Khai", directory_visible=True, orcid="0000-0002-1825-0097")
    offset = datetime.timedelta(days=200 if has_access else -200)
    for user in (viewer, listed):
        TermFactory(membership=MembershipFactory(user=user), end=datetime.date.today() + offset)
    log_in(page, viewer.email)
    page.wait_for_url("**/")
    page.goto("/membership/directory/?q=nguyen")
    assert page.locator("h1").count() == 1
    assert page.get_by_text("Nguyễn Thị Minh Khai").is_visible() is has_access
    axe(page)


ACCOUNT_PAGES = [
    ("/membership/profile/", "Profile"),
    ("/accounts/email/", "Email addresses"),
    ("/accounts/password/change/", "Password"),
    ("/accounts/2fa/", "Two-factor authentication"),
    ("/accounts/3rdparty/", "ORCID and other sign-ins"),
]


def test_account_pages_share_an_accessible_account_navigation(page, axe):
    UserFactory(email="nav@lab.example")
    log_in(page, "nav@lab.example")
    page.wait_for_url("**/")
    for path, current in ACCOUNT_PAGES:
        page.goto(path)
        nav = page.get_by_role("navigation", name="Account")
        assert nav.get_by_role("link").count() == 7, path
        marked = nav.locator('[aria-current="page"]')
        assert marked.count() == 1, path
        assert marked.inner_text() == current, path
        assert page.locator("main h1").count() == 1, path
        axe(page)
    # Confirming access (asked before deletion and export) keeps the navigation, with no entry current.
    page.goto("/accounts/reauthenticate/?next=/membership/profile/delete/")
    nav = page.get_by_role("navigation", name="Account")
    assert nav.get_by_role("link").count() == 7
    assert nav.locator('[aria-current="page"]').count() == 0
    axe(page)
    page.locator("main").get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.locator("main form").get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/membership/profile/delete/")
    assert nav.locator('[aria-current="page"]').inner_text() == "Delete account"
    axe(page)
    # The navigation works as navigation: following an entry lands on that page, marked current.
    page.goto("/membership/profile/")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Password").click()
    page.wait_for_url("**/accounts/password/change/")
    assert page.get_by_role("navigation", name="Account").locator('[aria-current="page"]').inner_text() == "Password"
