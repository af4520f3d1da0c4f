"""The Retention page in a real browser: axe finds nothing serious, the charts are labelled images, the filters
work from the keyboard, and the Content Security Policy blocks nothing on the page."""

import pytest
from django.conf import settings

from tests.clients import Client
from tests.factories import StaffFactory
from tests.members.test_retention import member

pytestmark = pytest.mark.browser


def log_in(page, user, live_server):
    """Reuse a session made by Django's test client (MFA and password screens are not under test here)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.clear_cookies()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def test_retention_page_is_accessible_and_filters_from_the_keyboard(page, axe, live_server):
    member(("2025-03-01", "2026-02-28"), ("2026-03-01", "2027-02-28"))
    member(("2025-04-01", "2026-03-31"), country="KE")
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    log_in(page, StaffFactory(is_superuser=True), live_server)
    page.goto(f"{live_server.url}/admin/members/membership/retention/")
    assert page.get_by_role("img", name="Renewal rate by month", exact=True).is_visible()
    assert page.get_by_role("heading", name="Cohorts: members by join year still active").is_visible()
    results = axe(page)
    assert not [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    page.get_by_label("Country").select_option("KE")
    page.get_by_role("button", name="Show").press("Enter")
    page.wait_for_url("**country=KE**")
    assert page.locator("#renewal-heading").is_visible()
    page.screenshot(path="/tmp/retention.png", full_page=True)
    assert violations == []
