"""The email outbox against a real SMTP server, a real Celery worker and real Redis servers."""

import datetime as dt
import threading
from collections import Counter

import pytest
import time_machine
from celery.signals import task_postrun
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from society.celery import app as project_celery_app
from society.models import OutgoingEmail, OutgoingEmailStatus
from society.services.mail import (
    SEND_TASK,
    email_enqueue,
    outbox_publish,
    outbox_requeue_due,
    outgoing_email_resend,
    outgoing_email_send,
    outgoing_emails_redact,
    retry_delay,
)
from tests.factories import UserFactory
from tests.outbox import deliver_outbox
from tests.workers import (
    WorkerProcess,
    current_celery_app,
    delete_queue,
    make_test_app,
    new_queue_name,
    wait_for,
    worker_thread,
)

FROZEN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def enqueue(n=0, **overrides):
    fields = {
        "to": f"ana{n}@lab.example",
        "subject": "Your membership",
        "text": "Dear Ana,\nyour membership ends soon.",
        "html": "<p>Dear Ana,</p><p>your membership ends soon.</p>",
        "kind": "test",
    }
    return email_enqueue(**{**fields, **overrides})


def status_of(email):
    email.refresh_from_db()
    return email.status


# --- Enqueueing ---------------------------------------------------------------


@pytest.mark.django_db
def test_enqueue_writes_the_row_and_queues_its_task_only_on_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = enqueue(reply_to="office@society.example")
    assert email.status == OutgoingEmailStatus.QUEUED
    assert email.reply_to == "office@society.example"
    assert email.message_id.startswith("<")
    assert email.message_id.endswith("@society.example>")
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_enqueue_in_a_rolled_back_transaction_leaves_no_row_and_queues_nothing(django_capture_on_commit_callbacks):
    def failing_change():
        with transaction.atomic():
            enqueue()
            raise RuntimeError("the change failed")

    with django_capture_on_commit_callbacks(execute=False) as callbacks, pytest.raises(RuntimeError):
        failing_change()
    assert not OutgoingEmail.objects.exists()
    assert callbacks == []


@pytest.mark.django_db
def test_enqueue_with_the_same_key_returns_the_first_row_and_queues_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = enqueue(key="receipt:42")
        second = enqueue(key="receipt:42", subject="Another subject")
    assert first.pk == second.pk
    assert OutgoingEmail.objects.count() == 1
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_message_ids_are_unique_per_email():
    ids = {enqueue(n).message_id for n in range(20)}
    assert len(ids) == 20


# --- Sending (the service, synchronously) ---------------------------------------


@pytest.mark.django_db
def test_send_delivers_a_multipart_message_with_headers_once(smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "Society <office@society.example>"
    email = enqueue(reply_to="help@society.example")

    assert outgoing_email_send(email_id=email.pk) == OutgoingEmailStatus.SENT
    assert outgoing_email_send(email_id=email.pk) is None

    assert smtp_server.handler.count() == 1
    received = smtp_server.handler.messages[0]
    assert received["To"] == "ana0@lab.example"
    assert received["From"] == "Society <office@society.example>"
    assert received["Reply-To"] == "help@society.example"
    assert received["Message-ID"] == email.message_id
    assert received.get_body(("plain",)).get_content().startswith("Dear Ana,")
    assert "<p>Dear Ana,</p>" in received.get_body(("html",)).get_content()
    email.refresh_from_db()
    assert email.sent_at is not None
    assert email.attempts == 1


@pytest.mark.django_db
def test_extra_headers_reach_the_server_on_one_line_and_never_replace_the_message_id(smtp_server):
    email = email_enqueue(
        to="ana@lab.example",
        subject="News",
        text="Hello",
        kind="test",
        headers={
            "List-Unsubscribe": "<https://society.example/u/abc>\r\nBcc: victim@example.com",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": "<forged@example.com>",
        },
    )

    assert outgoing_email_send(email_id=email.pk) == OutgoingEmailStatus.SENT
    received = smtp_server.handler.messages[0]
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["List-Unsubscribe"].startswith("<https://society.example/u/abc>")
    assert received["Bcc"] is None
    assert received["Message-ID"] == email.message_id


@pytest.mark.django_db
def test_refused_recipient_fails_at_once(smtp_server):
    smtp_server.handler.reject_recipients = True
    email = enqueue()

    assert outgoing_email_send(email_id=email.pk) == OutgoingEmailStatus.FAILED
    email.refresh_from_db()
    assert email.attempts == 1
    assert "550" in email.last_error
    assert email.next_attempt_at is None


@pytest.mark.django_db
def test_transient_errors_give_up_after_six_tries(smtp_server, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 0
    smtp_server.handler.answer_451(10)
    email = enqueue()

    statuses = [outgoing_email_send(email_id=email.pk) for _ in range(7)]

    assert statuses == [OutgoingEmailStatus.QUEUED] * 5 + [OutgoingEmailStatus.FAILED, None]
    email.refresh_from_db()
    assert email.attempts == 6
    assert "451" in email.last_error
    assert smtp_server.handler.count() == 0


@pytest.mark.django_db
def test_a_retry_is_not_sent_before_its_time(smtp_server):
    smtp_server.handler.answer_451(1)
    with time_machine.travel(FROZEN, tick=False):
        email = enqueue()
        assert outgoing_email_send(email_id=email.pk) == OutgoingEmailStatus.QUEUED
        email.refresh_from_db()
        assert FROZEN + dt.timedelta(seconds=90) <= email.next_attempt_at <= FROZEN + dt.timedelta(seconds=150)
        assert outgoing_email_send(email_id=email.pk) is None
    with time_machine.travel(FROZEN + dt.timedelta(minutes=3), tick=False):
        assert outgoing_email_send(email_id=email.pk) == OutgoingEmailStatus.SENT
    assert smtp_server.handler.count() == 1


def test_a_second_send_while_the_first_is_talking_to_the_server_does_nothing(transactional_db, smtp_server):
    email = enqueue()
    arrived, release = smtp_server.handler.hold_next_message()
    smtp_server.handler.hold_keeps_message = True
    first = threading.Thread(target=outgoing_email_send, kwargs={"email_id": email.pk})
    first.start()
    try:
        assert arrived.wait(10)
        # The first send has claimed the row (status "sending") before talking SMTP: the second skips it.
        assert outgoing_email_send(email_id=email.pk) is None
    finally:
        release.set()
        first.join(10)
    assert status_of(email) == OutgoingEmailStatus.SENT
    assert outgoing_email_send(email_id=email.pk) is None
    assert smtp_server.handler.count() == 1


def test_retry_waits_grow_exponentially_to_about_a_day_with_jitter(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 120
    waits = [retry_delay(attempt) for attempt in range(1, settings.OUTBOX_MAX_ATTEMPTS)]
    assert all(later > earlier for earlier, later in zip(waits, waits[1:], strict=False))
    assert dt.timedelta(hours=18) < sum(waits, dt.timedelta()) < dt.timedelta(hours=34)
    assert len({retry_delay(3) for _ in range(10)}) > 1


# --- The sweeper ------------------------------------------------------------------


@pytest.mark.django_db
def test_sweeper_requeues_lost_and_due_rows_only(django_capture_on_commit_callbacks):
    with time_machine.travel(FROZEN, tick=False):
        lost = enqueue(1)
        in_flight_recently = enqueue(2)
        retry_due = enqueue(3)
        retry_later = enqueue(4)
        sent = enqueue(5)
        failed = enqueue(6)
    now = FROZEN + dt.timedelta(minutes=16)
    OutgoingEmail.objects.filter(pk=in_flight_recently.pk).update(queued_at=now - dt.timedelta(minutes=1))
    OutgoingEmail.objects.filter(pk=retry_due.pk).update(queued_at=None, next_attempt_at=now)
    OutgoingEmail.objects.filter(pk=retry_later.pk).update(queued_at=None, next_attempt_at=now + dt.timedelta(hours=1))
    OutgoingEmail.objects.filter(pk=sent.pk).update(status=OutgoingEmailStatus.SENT, sent_at=now)
    OutgoingEmail.objects.filter(pk=failed.pk).update(status=OutgoingEmailStatus.FAILED)

    with django_capture_on_commit_callbacks(execute=False) as callbacks, time_machine.travel(now, tick=False):
        assert outbox_requeue_due() == 2
        assert outbox_requeue_due() == 0  # just queued: not again for 15 minutes

    assert set(OutgoingEmail.objects.filter(queued_at=now).values_list("pk", flat=True)) == {lost.pk, retry_due.pk}
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_publishing_to_an_unreachable_broker_returns_instead_of_raising(caplog):
    app = make_test_app("redis://127.0.0.1:1/0", new_queue_name())
    with current_celery_app(app):
        assert outbox_publish([1, 2, 3]) is False
    assert "left for the sweeper" in caplog.text


# --- A real worker ------------------------------------------------------------------


def test_451_twice_then_accepted_is_delivered_exactly_once(celery_worker, smtp_server):
    smtp_server.handler.answer_451(2)
    with transaction.atomic():
        email = enqueue()

    # The worker's first try meets the 451 and leaves the retry to the sweeper (no countdown in Redis).
    def delivered():
        outbox_requeue_due()
        return status_of(email) == OutgoingEmailStatus.SENT

    wait_for(delivered, message="the email to be sent")
    email.refresh_from_db()
    assert email.attempts == 3
    assert smtp_server.handler.recipients() == {"ana0@lab.example": 1}


def test_smtp_down_for_the_whole_run_keeps_rows_queued_then_sweeper_sends_each_once(celery_worker, smtp_server):
    smtp_server.stop()
    with transaction.atomic():
        emails = [enqueue(n) for n in range(5)]
    # attempts counts at the claim: wait until every try has also recorded its failure.
    wait_for(
        lambda: OutgoingEmail.objects.filter(attempts__gte=1, status=OutgoingEmailStatus.QUEUED).count() == 5,
        message="every row to meet the outage",
    )
    assert "Connection" in OutgoingEmail.objects.first().last_error

    smtp_server.start()

    def all_sent():
        outbox_requeue_due()
        return OutgoingEmail.objects.filter(status=OutgoingEmailStatus.SENT).count() == 5

    wait_for(all_sent, message="the backlog to go out")
    assert smtp_server.handler.recipients() == {email.to: 1 for email in emails}


def test_the_same_task_delivered_twice_sends_once(celery_worker, smtp_server):
    """What a redelivery looks like after a worker is killed: the same task id arrives again, possibly
    while the first copy is still sending. The row lock and the status check make it a no-op."""
    from society.tasks import send_outgoing_email

    finished = Counter()

    def count_run(task_id=None, **kwargs):
        finished[task_id] += 1

    task_postrun.connect(count_run, weak=False)
    try:
        # The emails are queued on commit (one batch task for all 20); then each email's own task arrives twice.
        with transaction.atomic():
            emails = [enqueue(n) for n in range(20)]
        for email in emails:
            for _copy in range(2):
                send_outgoing_email.apply_async(args=[email.pk], task_id=f"send-{email.pk}")
        # Every copy has run (not just the first of each email) before the server is asked.
        wait_for(lambda: sum(finished.values()) == 41, message="the batch and both copies of every task to run")
    finally:
        task_postrun.disconnect(count_run)
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {OutgoingEmailStatus.SENT}
    assert smtp_server.handler.recipients() == {email.to: 1 for email in emails}


def test_worker_killed_in_the_middle_of_a_batch_still_delivers_each_email_once(
    celery_app, transactional_db, smtp_server, settings
):
    queue = celery_app.conf.task_default_queue
    worker_args = {
        "broker_url": celery_app.conf.broker_url,
        "queue": queue,
        "database_name": settings.DATABASES["default"]["NAME"],
        "smtp_port": smtp_server.port,
    }
    arrived, release = smtp_server.handler.hold_next_message()
    # The first worker stalls on its first message in the middle of the SMTP conversation...
    with transaction.atomic():
        emails = [enqueue(n) for n in range(12)]
    first = WorkerProcess(**worker_args)
    first.start()
    try:
        assert arrived.wait(60), "the first worker never reached the SMTP server"
        first.kill()  # ...and is killed there, with its prefetched messages unacknowledged.
    finally:
        release.set()
        first.stop()

    second = WorkerProcess(**worker_args)
    second.start()
    try:
        # The killed worker's messages stay invisible in Redis for an hour; the sweeper rescues
        # their rows after 15 minutes.
        def all_sent():
            outbox_requeue_due(now=timezone.now() + dt.timedelta(minutes=16))
            return OutgoingEmail.objects.filter(status=OutgoingEmailStatus.SENT).count() == 12

        wait_for(all_sent, timeout=90, interval=0.2, message="every email to be sent")
    finally:
        second.stop()
    assert smtp_server.handler.recipients() == {email.to: 1 for email in emails}


def test_broker_down_during_a_change_commits_and_mail_goes_out_when_it_returns(
    private_redis, transactional_db, smtp_server, settings, caplog
):
    settings.OUTBOX_RETRY_BASE_SECONDS = 0
    member = UserFactory(full_name="Ana Souza")
    queue = new_queue_name()
    app = make_test_app(private_redis.url, queue)
    with current_celery_app(app):
        private_redis.stop()
        with transaction.atomic():
            member.institution = "Instituto Butantan"
            member.save(update_fields=["institution"])
            email = enqueue(to=member.email)
        # The change and the email are committed; only the task could not be queued.
        member.refresh_from_db()
        assert member.institution == "Instituto Butantan"
        assert status_of(email) == OutgoingEmailStatus.QUEUED
        assert "left for the sweeper" in caplog.text

        private_redis.start()
        with worker_thread(app):

            def sent():
                outbox_requeue_due(now=timezone.now() + dt.timedelta(minutes=16))
                return status_of(email) == OutgoingEmailStatus.SENT

            wait_for(sent, message="the email to go out after Redis returned")
    delete_queue(private_redis.url, queue)
    assert smtp_server.handler.recipients() == {member.email: 1}


# --- Admin ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 200])
def test_admin_changelist_runs_a_fixed_number_of_queries(superuser_client, django_assert_max_num_queries, rows):
    OutgoingEmail.objects.bulk_create(
        OutgoingEmail(to=f"m{n}@lab.example", subject="Hi", text_body="Hi", kind="test") for n in range(rows)
    )
    with django_assert_max_num_queries(8):
        response = superuser_client.get(reverse("admin:society_outgoingemail_changelist"), {"status__exact": "queued"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == min(rows, 100)
    assert "@lab.example" in response.text


@pytest.mark.django_db
def test_admin_search_finds_by_recipient(superuser_client):
    enqueue(1)
    enqueue(2)
    response = superuser_client.get(reverse("admin:society_outgoingemail_changelist"), {"q": "ana2@"})
    assert "ana2@lab.example" in response.text
    assert "ana1@lab.example" not in response.text


@pytest.mark.django_db
def test_admin_resend_requeues_failed_rows_and_leaves_sent_ones(superuser_client, django_capture_on_commit_callbacks):
    failed, sent = enqueue(1), enqueue(2)
    OutgoingEmail.objects.filter(pk=failed.pk).update(status=OutgoingEmailStatus.FAILED, attempts=6)
    OutgoingEmail.objects.filter(pk=sent.pk).update(status=OutgoingEmailStatus.SENT, sent_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = superuser_client.post(
            reverse("admin:society_outgoingemail_changelist"),
            {"action": "resend", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )
    assert "1 email queued again." in response.text
    assert "1 email was not failed" in response.text
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutgoingEmailStatus.QUEUED, 0)
    assert status_of(sent) == OutgoingEmailStatus.SENT
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_resending_a_failed_email_delivers_it_once(smtp_server):
    email = enqueue()
    OutgoingEmail.objects.filter(pk=email.pk).update(status=OutgoingEmailStatus.FAILED, attempts=6)
    assert outgoing_email_resend(email_ids=[email.pk]) == 1
    assert outgoing_email_resend(email_ids=[email.pk]) == 0  # a second click: it is no longer failed
    assert outgoing_email_send(email_id=email.pk) == OutgoingEmailStatus.SENT
    assert outgoing_email_send(email_id=email.pk) is None
    assert smtp_server.handler.count() == 1


# --- Account emails go through the outbox ------------------------------------------------


@pytest.mark.django_db
def test_account_emails_are_written_to_the_outbox(client, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("account_reset_password"), {"email": member.email})
    assert response.status_code == 302
    assert mail.outbox == []
    email = OutgoingEmail.objects.get(to=member.email)
    assert email.kind == "account"
    assert email.related_key == "password_reset_key"
    assert "/accounts/password/reset/key/" in email.text_body
    assert len(callbacks) == 1

    assert deliver_outbox() == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == email.message_id
    assert mail.outbox[0].to == [member.email]


def test_tasks_queued_by_tests_stay_in_this_process():
    from society.tasks import send_outgoing_email

    assert send_outgoing_email.app.conf.broker_url == "memory://"
    assert outbox_publish([1]) is True


@pytest.mark.django_db
def test_erasing_a_member_blanks_their_emails_and_stops_unsent_ones():
    sent, unsent, other = enqueue(1), enqueue(1), enqueue(2)
    OutgoingEmail.objects.filter(pk=sent.pk).update(status=OutgoingEmailStatus.SENT, sent_at=timezone.now())

    assert outgoing_emails_redact(address="ANA1@lab.example", replacement="erased-7@erased.invalid") == 2

    for email in (sent, unsent):
        email.refresh_from_db()
        assert (email.to, email.subject, email.text_body, email.html_body) == ("erased-7@erased.invalid", "", "", "")
    assert (sent.status, unsent.status) == (OutgoingEmailStatus.SENT, OutgoingEmailStatus.FAILED)
    assert outgoing_email_send(email_id=unsent.pk) is None
    assert status_of(other) == OutgoingEmailStatus.QUEUED


def test_the_projects_celery_app_knows_the_send_task_and_every_beat_job(settings):
    # The outbox publishes its send task by name and beat schedules by name: a rename must fail here.
    project_celery_app.loader.import_default_modules()
    assert project_celery_app.tasks[SEND_TASK].run.__module__ == "society.tasks"
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in project_celery_app.tasks
