"""Batches over one SMTP connection, and the suppression list: real SMTP server, real worker."""

import pytest
from django.db import transaction
from django.urls import reverse

from society.models import OutgoingEmail, OutgoingEmailStatus, SuppressedAddress
from society.services.mail import email_enqueue, outbox_requeue_due, outgoing_emails_send
from tests.workers import wait_for

SENT, QUEUED, FAILED, SUPPRESSED = (
    OutgoingEmailStatus.SENT,
    OutgoingEmailStatus.QUEUED,
    OutgoingEmailStatus.FAILED,
    OutgoingEmailStatus.SUPPRESSED,
)


def enqueue(n, kind="test", to=None):
    return email_enqueue(to=to or f"ana{n}@lab.example", subject="Society news", text="Dear Ana,", kind=kind)


def statuses(emails):
    return [OutgoingEmail.objects.get(pk=email.pk).status for email in emails]


@pytest.mark.django_db
def test_a_batch_of_twenty_goes_out_over_one_smtp_connection(smtp_server):
    emails = [enqueue(n) for n in range(20)]

    results = outgoing_emails_send(email_ids=[email.pk for email in emails])

    assert results == {email.pk: SENT for email in emails}
    assert smtp_server.handler.connections == 1
    assert smtp_server.handler.recipients() == {email.to: 1 for email in emails}
    assert outgoing_emails_send(email_ids=[email.pk for email in emails]) == {}  # sent rows are never claimed again


@pytest.mark.django_db
def test_a_connection_dropped_mid_batch_reconnects_and_still_sends_each_email_once(smtp_server, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 0
    emails = [enqueue(n) for n in range(12)]
    smtp_server.handler.drop_at_message = 5

    outgoing_emails_send(email_ids=[email.pk for email in emails])

    # The sixth met the dropped connection: queued for a retry; the rest went over a second connection.
    assert statuses(emails) == [SENT] * 5 + [QUEUED] + [SENT] * 6
    assert smtp_server.handler.connections == 2
    assert "Disconnected" in OutgoingEmail.objects.get(pk=emails[5].pk).last_error
    outgoing_emails_send(email_ids=[emails[5].pk])
    assert statuses(emails) == [SENT] * 12
    assert smtp_server.handler.recipients() == {email.to: 1 for email in emails}


def test_a_real_worker_sends_queued_emails_in_batches_each_over_one_connection(celery_worker, smtp_server, settings):
    settings.OUTBOX_BATCH_SIZE = 25
    with transaction.atomic():
        emails = [enqueue(n) for n in range(100)]
    wait_for(lambda: OutgoingEmail.objects.filter(status=SENT).count() == 100, message="every email to be sent")
    assert smtp_server.handler.recipients() == {email.to: 1 for email in emails}
    assert smtp_server.handler.connections == 4


@pytest.mark.django_db
def test_a_5xx_on_rcpt_suppresses_the_address_and_later_non_transactional_mail_skips_it(smtp_server):
    smtp_server.handler.reject_recipients = True
    refused = enqueue(1, kind="receipt", to="Gone@Lab.example")
    outgoing_emails_send(email_ids=[refused.pk])
    smtp_server.handler.reject_recipients = False

    entry = SuppressedAddress.objects.get()
    assert (entry.address, entry.email_id) == ("gone@lab.example", refused.pk)
    assert "550" in entry.reason

    announcement = enqueue(2, kind="announcement", to="gone@lab.example")
    alert = enqueue(3, kind="guideline_alert", to="GONE@lab.example")
    receipt = enqueue(4, kind="receipt", to="gone@lab.example")
    other = enqueue(5, kind="announcement")
    results = outgoing_emails_send(email_ids=[announcement.pk, alert.pk, receipt.pk, other.pk])

    assert results == {announcement.pk: SUPPRESSED, alert.pk: SUPPRESSED, receipt.pk: SENT, other.pk: SENT}
    assert statuses([refused, announcement, alert, receipt]) == [FAILED, SUPPRESSED, SUPPRESSED, SENT]
    assert smtp_server.handler.recipients() == {"gone@lab.example": 1, "ana5@lab.example": 1}
    # A suppressed row is settled, never sent later by the sweeper.
    assert outbox_requeue_due() == 0


@pytest.mark.django_db
def test_a_transient_refusal_suppresses_nothing(smtp_server):
    smtp_server.handler.answer_451(1)
    email = enqueue(1, kind="announcement")
    outgoing_emails_send(email_ids=[email.pk])
    assert statuses([email]) == [QUEUED]
    assert not SuppressedAddress.objects.exists()


@pytest.mark.django_db
def test_staff_see_and_clear_suppressed_addresses_in_admin(superuser_client):
    entry = SuppressedAddress.objects.create(address="gone@lab.example", reason="550 5.1.1 user unknown")
    changelist = reverse("admin:society_suppressedaddress_changelist")
    assert "gone@lab.example" in superuser_client.get(changelist).content.decode()

    delete = reverse("admin:society_suppressedaddress_delete", args=[entry.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 302
    assert not SuppressedAddress.objects.exists()


@pytest.mark.django_db
def test_an_unreachable_server_fails_the_whole_batch_once_each_for_a_later_retry(smtp_server):
    smtp_server.stop()
    emails = [enqueue(n) for n in range(5)]

    assert outgoing_emails_send(email_ids=[email.pk for email in emails]) == {email.pk: QUEUED for email in emails}

    rows = OutgoingEmail.objects.filter(pk__in=[email.pk for email in emails])
    assert set(rows.values_list("attempts", flat=True)) == {1}
    assert all(row.next_attempt_at and "Connection" in row.last_error for row in rows)
    assert not SuppressedAddress.objects.exists()
