"""Shared fixtures: members, staff, logged-in clients, a real Chromium and axe-core."""

import os
import uuid

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from tests.clients import Client
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.workers import (
    TEST_BROKER_DB,
    RedisServer,
    SMTPServer,
    current_celery_app,
    delete_queue,
    make_test_app,
    new_queue_name,
    worker_thread,
)

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
def _english_until_asked():
    """A request served in German leaves German active in the thread (the middleware activates, nothing
    deactivates); every test starts in the default language, so reverse() and messages do not depend on order."""
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


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
def client():
    return Client()


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


# --- Real services: an SMTP server, a Celery worker, a Redis server of a test's own ----------------


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on localhost; Django's SMTP backend points at it for the test."""
    server = SMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def test_broker_url():
    return f"redis://127.0.0.1:6379/{TEST_BROKER_DB}"


@pytest.fixture
def celery_app(test_broker_url):
    """The app shared tasks publish through during the test: the machine's Redis, our own database
    number and a queue unique to this test."""
    queue = new_queue_name()
    app = make_test_app(test_broker_url, queue)
    with current_celery_app(app):
        yield app
    delete_queue(test_broker_url, queue)


@pytest.fixture
def celery_worker(celery_app, transactional_db, settings):
    """A real Celery worker (two threads) consuming the test queue. Retries are due at once, so a
    test drives them with the sweeper instead of waiting minutes."""
    settings.OUTBOX_RETRY_BASE_SECONDS = 0
    with worker_thread(celery_app):
        yield celery_app


@pytest.fixture
def private_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()
