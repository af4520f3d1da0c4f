"""Shared fixtures: members, staff, logged-in clients, a real Chromium and axe-core."""

import os
import uuid

import pytest

from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.members.outbox_support import current_celery_app, make_test_app

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from that thread
# are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without these, Chromium tries to reach Google's services, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Give each test its own key prefix in the real Redis, so rate limits and cached pages never leak
    between tests, without flushing a Redis the machine shares."""
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    for config in caches.values():
        config["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
        config["TIMEOUT"] = 600
    settings.CACHES = caches


@pytest.fixture(scope="session")
def in_memory_celery_app():
    return make_test_app("memory://", "society-tests")


@pytest.fixture(autouse=True)
def _tasks_stay_in_this_process(in_memory_celery_app):
    """Tasks a test queues (account emails, reminders) go to an in-memory broker, never to the machine's
    shared Redis where somebody's worker could take them. Worker tests switch to a Redis queue of their own."""
    with current_celery_app(in_memory_celery_app):
        yield


@pytest.fixture
def member(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def client_logged_in(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def superuser_client(client, db):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def axe():
    """Run axe-core in the page and fail with a readable list of any violation."""
    from axe_playwright_python.sync_playwright import Axe

    runner = Axe()

    def check(page):
        results = runner.run(page)
        assert results.violations_count == 0, results.generate_report()
        return results

    return check
