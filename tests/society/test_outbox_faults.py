"""The outbox under faults: database connections cut while sending, a worker killed after the SMTP server
accepted, a broker that is down or drops every connection. Real Postgres, Redis, Celery workers and SMTP."""

import datetime as dt
import socket
import threading
import uuid

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from society.models import OutgoingEmail, OutgoingEmailStatus
from society.models.mail import LEASE, REQUEUE_AFTER
from society.services.mail import email_enqueue, outbox_publish, outbox_requeue_due, outgoing_email_send
from tests.workers import WorkerProcess, current_celery_app, make_test_app, new_queue_name, wait_for, worker_thread

FROZEN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SENT, SENDING, QUEUED, FAILED = (
    OutgoingEmailStatus.SENT,
    OutgoingEmailStatus.SENDING,
    OutgoingEmailStatus.QUEUED,
    OutgoingEmailStatus.FAILED,
)


def enqueue(n=0):
    return email_enqueue(to=f"ana{n}@lab.example", subject="Your membership", text="Dear Ana,", kind="test")


def status_of(email):
    email.refresh_from_db()
    return email.status


def terminate_connections(application_name: str) -> int:
    """Cut the database connections of one worker process (found by its application_name), nobody else's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def worker_args(celery_app, transactional_db, smtp_server, settings):
    return {
        "broker_url": celery_app.conf.broker_url,
        "queue": celery_app.conf.task_default_queue,
        "database_name": settings.DATABASES["default"]["NAME"],
        "smtp_port": smtp_server.port,
    }


# --- No transaction across SMTP; the result is recorded on a fresh connection ----------------------


def test_no_transaction_or_row_lock_is_held_while_talking_to_the_smtp_server(transactional_db, smtp_server):
    email = enqueue()
    arrived, release = smtp_server.handler.hold_next_message()
    smtp_server.handler.hold_keeps_message = True
    sender = threading.Thread(target=outgoing_email_send, kwargs={"email_id": email.pk})
    sender.start()
    try:
        assert arrived.wait(10)
        with transaction.atomic():
            # Would raise if the sender still held the row lock.
            claimed = OutgoingEmail.objects.select_for_update(nowait=True).get(pk=email.pk)
        assert claimed.status == SENDING
        assert claimed.claimed_by.startswith(f"{socket.gethostname()}:")
        assert claimed.lease_expires_at > timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND state LIKE 'idle in transaction%%'"
            )
            assert cursor.fetchone()[0] == 0
    finally:
        release.set()
        sender.join(10)
    assert status_of(email) == SENT
    assert smtp_server.handler.count() == 1


def test_cutting_the_workers_database_connections_mid_send_sends_each_email_exactly_once(worker_args, smtp_server):
    name = f"outbox-worker-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(**worker_args, application_name=name)
    smtp_server.handler.hold_keeps_message = True
    emails, cuts = [], 0
    worker.start()
    try:
        for batch in range(3):
            arrived, release = smtp_server.handler.hold_next_message()
            with transaction.atomic():
                emails += [enqueue(batch * 10 + n) for n in range(10)]
            try:
                assert arrived.wait(60), "the worker never reached the SMTP server"
                # The row is claimed and the server holds the whole message: cut the worker off the database.
                cuts += terminate_connections(name)
            finally:
                release.set()
            expected = len(emails)
            wait_for(lambda: smtp_server.handler.count() >= expected, timeout=60, message="the batch to arrive")  # noqa: B023
        wait_for(lambda: not OutgoingEmail.objects.filter(status=SENDING).exists(), message="every send to be recorded")
        # Anything a cut left unrecorded would be sent again now; nothing may be.
        assert outbox_requeue_due(now=timezone.now() + LEASE + REQUEUE_AFTER) == 0
        wait_for(lambda: OutgoingEmail.objects.filter(status=SENT).count() == 30, message="every row to be sent")
    finally:
        worker.stop()
    assert cuts >= 3
    assert smtp_server.handler.recipients() == {email.to: 1 for email in emails}
    assert set(OutgoingEmail.objects.values_list("attempts", flat=True)) == {1}


def test_a_worker_killed_after_the_server_accepted_sends_a_copy_with_the_same_message_id(worker_args, smtp_server):
    """The one window left (README, "the outbox"): the server has the message, the worker dies before
    recording it. The lease runs out, the sweeper queues the row again, and the copy can be recognised."""
    smtp_server.handler.hold_after_accepting = True
    arrived, release = smtp_server.handler.hold_next_message()
    with transaction.atomic():
        email = enqueue()
    first = WorkerProcess(**worker_args)
    first.start()
    try:
        assert arrived.wait(60), "the worker never reached the SMTP server"
        first.kill()
    finally:
        release.set()
        first.stop()
    assert smtp_server.handler.count() == 1
    assert status_of(email) == SENDING
    assert outbox_requeue_due() == 0  # the lease still runs: a live worker might yet record the send

    lease_ends = email.lease_expires_at
    second = WorkerProcess(**worker_args)
    second.start()
    try:

        def sent():
            outbox_requeue_due(now=lease_ends + dt.timedelta(seconds=1))
            return status_of(email) == SENT

        wait_for(sent, timeout=90, interval=0.2, message="the row to be sent again")
    finally:
        second.stop()
    assert [message["Message-ID"] for message in smtp_server.handler.messages] == [email.message_id] * 2
    assert email.attempts == 2


# --- Leases and the sweeper ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweeper_requeues_expired_leases_and_fails_them_after_the_last_attempt(
    settings, django_capture_on_commit_callbacks
):
    with time_machine.travel(FROZEN, tick=False):
        running, expired, exhausted = enqueue(1), enqueue(2), enqueue(3)
    claim = {"status": SENDING, "claimed_by": "worker-1:42:abc", "queued_at": None}
    OutgoingEmail.objects.filter(pk=running.pk).update(**claim, attempts=1, lease_expires_at=FROZEN + LEASE)
    OutgoingEmail.objects.filter(pk=expired.pk).update(**claim, attempts=1, lease_expires_at=FROZEN)
    OutgoingEmail.objects.filter(pk=exhausted.pk).update(
        **claim, attempts=settings.OUTBOX_MAX_ATTEMPTS, lease_expires_at=FROZEN
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks, time_machine.travel(FROZEN, tick=False):
        assert outbox_requeue_due() == 1

    assert status_of(running) == SENDING
    assert (status_of(expired), expired.queued_at, expired.lease_expires_at) == (QUEUED, FROZEN, None)
    assert "claim expired" in expired.last_error
    assert (status_of(exhausted), exhausted.lease_expires_at) == (FAILED, None)
    assert len(callbacks) == 1


# --- The broker: a failed publish leaves the row as it was, and a publish is bounded -----------------


def test_rows_whose_publish_failed_go_out_on_the_first_sweep_after_the_broker_returns(
    private_redis, transactional_db, smtp_server, caplog
):
    app = make_test_app(private_redis.url, new_queue_name())
    with current_celery_app(app):
        private_redis.stop()
        with transaction.atomic():
            emails = [enqueue(n) for n in range(3)]
        # Sweeps during the outage try again and fail again; none of them may hide the rows.
        assert outbox_requeue_due() == 3
        assert outbox_requeue_due() == 3
        assert set(OutgoingEmail.objects.values_list("queued_at", flat=True)) == {None}
        assert "left for the sweeper" in caplog.text

        private_redis.start()
        with worker_thread(app):
            assert outbox_requeue_due() == 3  # the very next sweep, not one 15 minutes later
            wait_for(lambda: OutgoingEmail.objects.filter(status=SENT).count() == 3, message="the backlog to go out")
    assert smtp_server.handler.recipients() == {email.to: 1 for email in emails}


class DroppingServer:
    """A TCP server that accepts and at once closes every connection, counting them: a broker that is
    reachable but broken, which kombu would otherwise retry for seconds inside the request."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                client, _address = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            client.close()

    def close(self):
        self.sock.close()
        self.thread.join(5)


@pytest.mark.django_db
def test_a_publish_to_a_broken_broker_gives_up_after_one_retry(caplog):
    server = DroppingServer()
    try:
        with current_celery_app(make_test_app(server.url, new_queue_name())):
            assert outbox_publish([enqueue().pk]) is False
    finally:
        server.close()
    assert 1 <= server.connections <= 2
    assert "left for the sweeper" in caplog.text


def test_the_broker_connection_is_configured_to_fail_fast():
    app = make_test_app("redis://127.0.0.1:1/0", new_queue_name())
    assert app.conf.task_publish_retry_policy["max_retries"] == 1
    with app.connection_for_write() as conn:
        options = conn.transport_options
    assert options["socket_connect_timeout"] <= 1
    assert options["socket_timeout"] <= 2
    assert options["max_retries"] == 1


# --- Admin ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_lists_emails_being_sent_with_their_claim(superuser_client):
    email = enqueue()
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=SENDING, claimed_by="worker-1:42:abc", lease_expires_at=timezone.now() + LEASE
    )
    changelist = superuser_client.get(reverse("admin:society_outgoingemail_changelist"), {"status__exact": "sending"})
    assert changelist.status_code == 200
    assert [row.pk for row in changelist.context["cl"].result_list] == [email.pk]
    assert "Sending" in changelist.text
    detail = superuser_client.get(reverse("admin:society_outgoingemail_change", args=[email.pk]))
    assert "worker-1:42:abc" in detail.text
    assert "Claim expires" in detail.text
