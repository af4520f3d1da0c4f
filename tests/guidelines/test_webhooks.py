"""Webhooks: a signed JSON summary of each publish, for the endpoints whose scope changed, delivered to a real
HTTP receiver through the durable outbox (retried with backoff, exactly once), logged in the admin."""

import datetime
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from guidelines.models import Edition, Provision, WebhookDelivery, WebhookEndpoint
from guidelines.services import edition_publish, edition_start_from
from guidelines.services.webhooks import (
    URL_HAS_CREDENTIALS,
    URL_NOT_HTTPS,
    webhook_deliveries_enqueue,
    webhook_deliveries_retry_now,
    webhook_delivery_send,
    webhook_url_validate,
    webhooks_requeue_due,
)
from tests.factories import StaffFactory
from tests.guidelines.factories import build_edition, revise_edition
from tests.workers import free_port, wait_for

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.datetime(2026, 12, 5, 12, tzinfo=datetime.UTC)
Status = WebhookDelivery.Status


class Receiver:
    """A real HTTP server on 127.0.0.1 in a thread, recording each POST and answering from `answers`
    ((status, body, headers), then 200 "ok" once they run out)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.requests = []
        self.answers = []
        self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/society?source=portal"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
                status, text, headers = receiver.answers.pop(0) if receiver.answers else (200, b"ok", {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def readme_verify():
    """The verification recipe exactly as the README gives it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- webhook-verify -->\n```python\n(.*?)```", readme, re.DOTALL).group(1)
    namespace = {}
    exec(code, namespace)
    return namespace["verify"]


def revise(old, *, label="2021", published_on=datetime.date(2021, 5, 1), publish=True):
    draft = revise_edition(old, label=label)
    return edition_publish(edition=draft, published_on=published_on) if publish else draft


def endpoint_for(guideline, url, provision_slug=None, **fields):
    provision = Provision.objects.get(guideline=guideline, slug=provision_slug) if provision_slug else None
    return WebhookEndpoint.objects.create(
        name=fields.pop("name", "Ethics board"), url=url, guideline=guideline, provision=provision, **fields
    )


@pytest.fixture
def old():
    return build_edition(provisions=10, published_on=datetime.date(2016, 5, 1))


# --- What is sent, to whom ---------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_the_summary_is_signed_and_verifies_with_the_readme_recipe(old, receiver):
    endpoint = endpoint_for(old.guideline, receiver.url)
    new = revise(old)
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery_send(delivery_id=delivery.pk) == Status.DELIVERED

    [request] = receiver.requests
    assert request["path"] == "/hooks/society?source=portal"
    headers, body = request["headers"], request["body"]
    verify = readme_verify()
    assert verify(endpoint.secret, body, headers["Society-Signature"])
    assert not verify(endpoint.secret, body + b" ", headers["Society-Signature"])
    assert not verify("whsec_wrong", body, headers["Society-Signature"])
    assert headers["Society-Signature"].startswith(f"t={int(NOW.timestamp())},v1=")
    assert headers["Society-Delivery"] == str(delivery.delivery_id)
    assert headers["Society-Event"] == "edition.published"
    assert headers["Content-Type"] == "application/json; charset=utf-8"

    summary = json.loads(body)
    site = "http://localhost:8000"
    g = old.guideline.slug
    assert summary["delivery_id"] == str(delivery.delivery_id)
    assert summary["edition"] == {
        "guideline": {"slug": g, "title": old.guideline.title, "url": f"{site}/guidelines/{g}/"},
        "slug": "2021",
        "label": "2021",
        "kind": "full",
        "correction": False,
        "published_on": "2021-05-01",
        "language": "en",
        "url": f"{site}{new.get_absolute_url()}",
        "previous": "2016",
        "compare_url": f"{site}/guidelines/{g}/compare/2016/2021/",
    }
    changes = {item["slug"]: item for item in summary["provisions"]}
    assert {slug: item["change"] for slug, item in changes.items()} == {
        "section-0": "changed",
        "section-2": "moved",
        "section-4": "moved",
        "new-rule": "added",
        "section-6": "removed",
    }
    assert changes["section-2"]["previous_number"] == "1.2"
    assert changes["section-2"]["number"] == "1.9"
    assert changes["section-2"]["renumbered"] is True
    assert changes["section-0"]["uid"] == str(Provision.objects.get(guideline=old.guideline, slug="section-0").uid)
    assert changes["section-0"]["url"] == f"{site}/guidelines/{g}/2021/section-0/"
    assert changes["section-0"]["compare_url"] == f"{site}/guidelines/{g}/compare/2016/2021/section-0/"
    assert changes["section-6"]["url"] == f"{site}/guidelines/{g}/2016/section-6/"  # last published text
    assert changes["section-6"]["number"] is None


@time_machine.travel(NOW, tick=False)
def test_a_correction_edition_says_so(old, receiver):
    endpoint_for(old.guideline, receiver.url)
    draft = revise(old, publish=False)
    Edition.objects.filter(pk=draft.pk).update(kind=Edition.Kind.CORRECTION)
    edition_publish(edition=draft, published_on=datetime.date(2021, 5, 1))
    assert json.loads(WebhookDelivery.objects.get().body)["edition"]["correction"] is True


def test_a_publish_with_no_matching_endpoint_delivers_nothing(old, receiver):
    other = build_edition(provisions=4)
    endpoint_for(other.guideline, receiver.url)
    endpoint_for(old.guideline, receiver.url, is_active=False)
    revise(old)
    assert WebhookDelivery.objects.count() == 0
    assert webhooks_requeue_due() == 0


def test_scope_narrows_to_a_part_or_a_provision_with_everything_under_it(old):
    guideline = old.guideline
    whole = endpoint_for(guideline, "https://hooks.example.org/whole")
    part_2 = endpoint_for(guideline, "https://hooks.example.org/part-2", "part-2")
    part_1 = endpoint_for(guideline, "https://hooks.example.org/part-1", "part-1")
    reworded = endpoint_for(guideline, "https://hooks.example.org/s0", "section-0")
    untouched = endpoint_for(guideline, "https://hooks.example.org/s1", "section-1")
    revise(old)
    sent = {
        delivery.endpoint_id: {item["slug"] for item in json.loads(delivery.body)["provisions"]}
        for delivery in WebhookDelivery.objects.all()
    }
    assert sent[whole.pk] == {"section-0", "section-2", "section-4", "section-6", "new-rule"}
    # Part 2 (odd sections): what was moved into it, added to it, or removed from it.
    assert sent[part_2.pk] == {"section-4", "new-rule"}
    # Part 1: what changed in it, and section-4, moved out of it.
    assert sent[part_1.pk] == {"section-0", "section-2", "section-4", "section-6"}
    assert sent[reworded.pk] == {"section-0"}
    assert untouched.pk not in sent  # nothing it follows changed: no delivery
    assert json.loads(WebhookDelivery.objects.get(endpoint=reworded).body)["scope"]["provision"] == str(
        reworded.provision.uid
    )


@pytest.mark.parametrize("endpoints", [2, 30])
def test_a_publish_writes_its_deliveries_in_a_fixed_number_of_queries(django_assert_max_num_queries, old, endpoints):
    new = revise(old)
    for index in range(endpoints):
        endpoint_for(old.guideline, f"https://hooks.example.org/{index}", "part-1" if index % 2 else None)
    # endpoints, the previous edition, both editions' versions, the insert, the rows back, the guideline
    with django_assert_max_num_queries(7):
        written = webhook_deliveries_enqueue(edition=Edition.objects.get(pk=new.pk))
    assert len(written) == endpoints


def test_translations_and_a_second_enqueue_write_no_delivery(old):
    endpoint_for(old.guideline, "https://hooks.example.org/a")
    new = revise(old)
    assert WebhookDelivery.objects.count() == 1
    translation = edition_start_from(edition=new, label="2021 es", slug="2021-es")
    Edition.objects.filter(pk=translation.pk).update(language="es", translation_of=new, change_summary="Traducción.")
    edition_publish(edition=translation, published_on=datetime.date(2021, 6, 1))
    assert WebhookDelivery.objects.count() == 1


# --- Delivery and retries ----------------------------------------------------------------------------------


@pytest.fixture
def test_broker_url():
    # The one Redis database this worktree's tests may use; the queue is unique to the test.
    return "redis://127.0.0.1:6379/3"


def test_receiver_down_then_up_gets_the_summary_exactly_once(settings, celery_worker):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0  # the sweeper, not the clock, drives the retry here
    receiver = Receiver()  # its port is free: connection refused until it starts
    old = build_edition(provisions=10, published_on=datetime.date(2016, 5, 1))
    endpoint_for(old.guideline, receiver.url)
    revise(old)
    delivery = WebhookDelivery.objects.get()

    def tried_once():
        delivery.refresh_from_db()
        return delivery.attempts == 1 and delivery.status == Status.QUEUED

    wait_for(tried_once, message="the first try, refused")
    assert delivery.last_status_code is None
    assert "Connection refused" in delivery.last_error or "ConnectionRefused" in delivery.last_error
    receiver.start()
    try:
        assert webhooks_requeue_due() == 1
        wait_for(lambda: WebhookDelivery.objects.get().status == Status.DELIVERED, message="the delivery")
        # Another sweep, and a duplicate task, find it delivered: nothing more goes out.
        assert webhooks_requeue_due() == 0
        assert webhook_delivery_send(delivery_id=delivery.pk) is None
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.last_status_code, delivery.last_response) == (2, 200, "ok")
        assert len(receiver.requests) == 1
    finally:
        receiver.stop()


def test_a_refusal_is_recorded_and_retried_three_times_with_backoff(old, receiver, settings):
    receiver.answers = [(401, b"bad signature\x00", {})] * 4
    endpoint_for(old.guideline, receiver.url)
    with time_machine.travel(NOW, tick=False) as clock:
        revise(old)
        delivery = WebhookDelivery.objects.get()
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.QUEUED
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.last_status_code) == (1, 401)
        assert delivery.last_response == "bad signature"  # NUL dropped: Postgres text cannot hold it
        assert delivery.last_error == "HTTP 401"
        assert NOW + datetime.timedelta(seconds=45) <= delivery.next_attempt_at <= NOW + datetime.timedelta(seconds=75)
        # Not due yet: a duplicate task or an early sweep sends nothing.
        assert webhook_delivery_send(delivery_id=delivery.pk) is None
        assert webhooks_requeue_due() == 0
        clock.shift(datetime.timedelta(minutes=2))
        assert webhooks_requeue_due() == 1
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.QUEUED
        clock.shift(datetime.timedelta(minutes=6))
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.FAILED
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.next_attempt_at) == (settings.WEBHOOK_MAX_REFUSED_ATTEMPTS, None)
        clock.shift(datetime.timedelta(days=3))
        assert webhooks_requeue_due() == 0
        assert webhook_delivery_send(delivery_id=delivery.pk) is None
        assert len(receiver.requests) == 3
        # Staff fixed the secret at the institution and retry now: a fresh set of tries.
        assert webhook_deliveries_retry_now(delivery_ids=[delivery.pk]) == 1
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.QUEUED  # the 4th answer: 401 again
        assert webhook_delivery_send(delivery_id=delivery.pk) is None
        assert len(receiver.requests) == 4


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_server_errors_and_throttling_are_retried_past_the_refusal_limit(old, receiver, settings, status):
    receiver.answers = [(status, b"busy", {})] * settings.WEBHOOK_MAX_REFUSED_ATTEMPTS
    endpoint_for(old.guideline, receiver.url)
    with time_machine.travel(NOW, tick=False) as clock:
        revise(old)
        delivery = WebhookDelivery.objects.get()
        for attempt in range(1, settings.WEBHOOK_MAX_REFUSED_ATTEMPTS + 1):
            assert webhook_delivery_send(delivery_id=delivery.pk) == Status.QUEUED, attempt
            clock.shift(datetime.timedelta(days=1))
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.DELIVERED
    delivery.refresh_from_db()
    assert delivery.attempts == settings.WEBHOOK_MAX_REFUSED_ATTEMPTS + 1
    assert len(receiver.requests) == delivery.attempts


def test_a_receiver_asking_to_wait_is_retried_no_sooner(old, receiver):
    receiver.answers = [(429, b"slow down", {"Retry-After": "3600"})]
    endpoint_for(old.guideline, receiver.url)
    with time_machine.travel(NOW, tick=False):
        revise(old)
        delivery = WebhookDelivery.objects.get()
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.QUEUED
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == NOW + datetime.timedelta(hours=1)


def test_network_errors_give_up_after_the_last_try(old, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    endpoint_for(old.guideline, Receiver().url)  # nobody listens
    with time_machine.travel(NOW, tick=False) as clock:
        revise(old)
        delivery = WebhookDelivery.objects.get()
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.QUEUED
        clock.shift(datetime.timedelta(hours=1))
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.FAILED


def test_a_redirect_is_not_followed_and_counts_as_a_refusal(old, receiver):
    receiver.answers = [(302, b"", {"Location": "http://127.0.0.1:9/elsewhere"})]
    endpoint_for(old.guideline, receiver.url)
    with time_machine.travel(NOW, tick=False):
        revise(old)
        delivery = WebhookDelivery.objects.get()
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.QUEUED
    delivery.refresh_from_db()
    assert delivery.last_status_code == 302
    assert len(receiver.requests) == 1


def test_a_worker_that_died_mid_send_has_its_delivery_queued_again(old):
    endpoint_for(old.guideline, "https://hooks.example.org/a")
    with time_machine.travel(NOW, tick=False) as clock:
        revise(old)
        delivery = WebhookDelivery.objects.get()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.SENDING, attempts=1, lease_expires_at=NOW + datetime.timedelta(minutes=5), queued_at=None
        )
        assert webhooks_requeue_due() == 0
        clock.shift(datetime.timedelta(minutes=6))
        assert webhooks_requeue_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == Status.QUEUED


def test_a_delivery_that_keeps_killing_its_worker_fails_after_the_last_try(old, settings):
    endpoint_for(old.guideline, "https://hooks.example.org/a")
    with time_machine.travel(NOW, tick=False) as clock:
        revise(old)
        delivery = WebhookDelivery.objects.get()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.SENDING,
            attempts=settings.WEBHOOK_MAX_ATTEMPTS,
            lease_expires_at=NOW + datetime.timedelta(minutes=5),
            queued_at=None,
        )
        clock.shift(datetime.timedelta(minutes=6))
        assert webhooks_requeue_due() == 0
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.lease_expires_at is None


def test_a_local_http_url_is_refused_when_not_allowed_even_at_send_time(old, receiver, settings):
    endpoint_for(old.guideline, receiver.url)
    revise(old)
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    delivery = WebhookDelivery.objects.get()
    with time_machine.travel(NOW, tick=False):
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.QUEUED
    delivery.refresh_from_db()
    assert delivery.last_error == str(URL_NOT_HTTPS)
    assert delivery.last_status_code is None
    assert receiver.requests == []


# --- Endpoints: validation, the admin ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed", "message"),
    [
        ("https://hooks.example.org/x", False, None),
        ("http://hooks.example.org/x", True, URL_NOT_HTTPS),
        ("http://127.0.0.1:8000/x", False, URL_NOT_HTTPS),
        ("http://127.0.0.1:8000/x", True, None),
        ("https://user:secret@hooks.example.org/x", False, URL_HAS_CREDENTIALS),
        ("https://token@hooks.example.org/x", False, URL_HAS_CREDENTIALS),
    ],
)
def test_urls_must_be_https_without_credentials(settings, url, allowed, message):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = allowed
    if message is None:
        webhook_url_validate(url)
    else:
        with pytest.raises(ValidationError) as error:
            webhook_url_validate(url)
        assert error.value.messages == [str(message)]


def test_the_database_refuses_a_url_with_credentials(old):
    with pytest.raises(IntegrityError):
        endpoint_for(old.guideline, "https://user:pw@hooks.example.org/")


def test_staff_register_an_endpoint_and_read_its_generated_secret(superuser_client, old):
    url = reverse("admin:guidelines_webhookendpoint_add")
    section = Provision.objects.get(guideline=old.guideline, slug="section-0")
    other = build_edition(provisions=4)
    form = {"name": "Ethics board", "guideline": old.guideline.pk, "is_active": "on"}
    refused = superuser_client.post(url, {**form, "url": "https://u:p@hooks.example.org/"})
    assert str(URL_HAS_CREDENTIALS) in refused.content.decode()
    foreign = other.versions.first().provision
    refused = superuser_client.post(url, {**form, "url": "https://hooks.example.org/", "provision": foreign.pk})
    assert "must belong to the chosen guideline" in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()
    response = superuser_client.post(url, {**form, "url": "https://hooks.example.org/", "provision": section.pk})
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert re.fullmatch(r"whsec_[0-9a-f]{64}", endpoint.secret)
    page = superuser_client.get(reverse("admin:guidelines_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret in page.content.decode()


def test_the_delivery_log_shows_the_last_answer_and_retries_now(superuser_client, old, receiver):
    receiver.answers = [(500, b"database is down", {})]
    endpoint_for(old.guideline, receiver.url)
    with time_machine.travel(NOW, tick=False):
        revise(old)
        delivery = WebhookDelivery.objects.get()
        webhook_delivery_send(delivery_id=delivery.pk)
        changelist = reverse("admin:guidelines_webhookdelivery_changelist")
        assert "500" in superuser_client.get(changelist).content.decode()
        detail = superuser_client.get(reverse("admin:guidelines_webhookdelivery_change", args=[delivery.pk]))
        assert "database is down" in detail.content.decode()
        response = superuser_client.post(changelist, {"action": "retry_now", "_selected_action": [delivery.pk]})
        assert response.status_code == 302
        delivery.refresh_from_db()
        assert delivery.next_attempt_at is None
        assert delivery.status == Status.QUEUED
        assert webhook_delivery_send(delivery_id=delivery.pk) == Status.DELIVERED


def test_the_webhook_admin_needs_staff_who_passed_mfa(client, old):
    pages = [
        reverse("admin:guidelines_webhookendpoint_changelist"),
        reverse("admin:guidelines_webhookdelivery_changelist"),
    ]
    client.force_login(StaffFactory(is_superuser=True), mfa=False)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("mfa_reauthenticate") + "?next="), url
    client.force_login(StaffFactory(is_superuser=True), mfa=True)
    for url in pages:
        assert client.get(url).status_code == 200, url
