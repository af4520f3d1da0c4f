"""Redis stopped under a running portal: the cache is a miss, pages, sign-up and login keep working, and the
emails they write wait in the outbox. A redis-server of the test's own is stopped; the machine's is untouched."""

import pytest
from django.core.cache import cache, caches
from django.urls import reverse

from members.models import User
from society.cache import FailSoftRedisCache
from society.models import OutgoingEmail, OutgoingEmailStatus
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.guidelines.factories import build_edition
from tests.society.factories import PageFactory
from tests.workers import current_celery_app, make_test_app, new_queue_name

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_on_private_server(settings, private_redis):
    """The cache and the broker both on a private redis-server, which the test can stop."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": private_redis.url}}
    with current_celery_app(make_test_app(private_redis.url, new_queue_name())):
        yield private_redis


def test_pages_sign_up_and_log_in_work_while_redis_is_down(
    client, redis_on_private_server, django_capture_on_commit_callbacks, caplog
):
    edition = build_edition(provisions=4)
    member = UserFactory(email="ana@lab.example")
    redis_on_private_server.stop()

    assert client.get("/").status_code == 200
    response = client.get(edition.get_absolute_url())
    assert response.status_code == 200
    assert "Section heading 0" in response.text

    signup = {
        "email": "kofi@lab.example",
        "full_name": "Kofi Mensah",
        "country": "GH",
        "password1": DEFAULT_PASSWORD,
        "password2": DEFAULT_PASSWORD,
    }
    # execute=True: the send task is really published after commit, to the stopped broker.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), signup)
    assert response.status_code == 302
    assert User.objects.filter(email="kofi@lab.example", full_name="Kofi Mensah").exists()
    email = OutgoingEmail.objects.get(to="kofi@lab.example")
    assert email.status == OutgoingEmailStatus.QUEUED
    # No task could be queued: the row is marked so, for the first sweep after Redis returns.
    assert email.queued_at is None
    assert "left for the sweeper" in caplog.text

    client.logout()
    response = client.post(reverse("account_login"), {"login": member.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("members:profile")).status_code == 200
    assert "Cache unavailable" in caplog.text


def test_the_footer_pages_are_read_from_the_database_while_redis_is_down(client, redis_on_private_server):
    PageFactory(slug="governance", title="Governance", in_navigation=True)
    assert "Governance" in client.get(reverse("news:list")).text  # kept in the cache
    redis_on_private_server.stop()
    PageFactory(slug="contact", title="Contact", in_navigation=True)

    body = client.get(reverse("news:list")).text
    assert '<a href="/pages/governance/">Governance</a>' in body
    assert '<a href="/pages/contact/">Contact</a>' in body


def test_a_wrong_password_while_redis_is_down_is_refused_with_the_form_not_an_error(client, redis_on_private_server):
    member = UserFactory(email="ana@lab.example")
    redis_on_private_server.stop()
    response = client.post(reverse("account_login"), {"login": member.email, "password": "wrong password"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_cache_errors_are_misses_and_logged_once_per_interval(redis_on_private_server, caplog):
    redis_on_private_server.stop()
    assert isinstance(caches["default"], FailSoftRedisCache)

    assert cache.get("figures") is None
    assert cache.get("figures", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("lock", True) is True  # an empty cache that forgets every write
    assert cache.set("figures", {"members": 4000}) is None
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.get_or_set("computed", lambda: 42) == 42
    assert cache.has_key("figures") is False
    assert cache.delete("figures") is False
    assert cache.touch("figures") is False
    with pytest.raises(ValueError, match="not found"):
        cache.incr("counter")

    warnings = [record for record in caplog.records if "Cache unavailable" in record.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelname == "WARNING"


def test_the_cache_is_used_again_once_redis_is_back(settings, redis_on_private_server):
    settings.CACHES = {"default": {**settings.CACHES["default"], "OPTIONS": {"RETRY_AFTER": 0}}}
    redis_on_private_server.stop()
    cache.set("figures", 1)
    assert cache.get("figures") is None

    redis_on_private_server.start()
    cache.set("figures", 2)
    assert cache.get("figures") == 2


def test_the_cache_is_configured_to_give_up_on_redis_within_a_second(settings):
    config = settings.CACHES["default"]
    assert config["BACKEND"] == "society.cache.FailSoftRedisCache"
    assert config["OPTIONS"]["socket_connect_timeout"] <= 1
    assert config["OPTIONS"]["socket_timeout"] <= 1
