import pytest

from tests.members.outbox_support import (
    TEST_BROKER_DB,
    RedisServer,
    SMTPServer,
    current_celery_app,
    delete_queue,
    make_test_app,
    new_queue_name,
    worker_thread,
)


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
