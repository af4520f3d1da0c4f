"""Announcements to a segment of the members: segment, queue once per member at a rate, schedule, the
member's choice (profile, RFC 8058 one-click), suppression, admin, and a worker killed mid-send."""

import datetime as dt
import re
from urllib.parse import urlparse

import pytest
import time_machine
from django.core import mail, signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from members.models import Announcement, AnnouncementStatus, AutoRenew, Membership, User
from members.services import announcements as service
from society.models import OutgoingEmail, OutgoingEmailStatus, SuppressedAddress
from society.services.mail import outbox_requeue_due
from tests.clients import Client
from tests.factories import CountryBandFactory, MembershipTypeFactory, StaffFactory, TermFactory, UserFactory
from tests.outbox import deliver_outbox
from tests.workers import WorkerProcess, wait_for

NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
SENT, QUEUED, OPTED_OUT, SUPPRESSED = (
    OutgoingEmailStatus.SENT,
    OutgoingEmailStatus.QUEUED,
    OutgoingEmailStatus.OPTED_OUT,
    OutgoingEmailStatus.SUPPRESSED,
)


def member(*, end=TODAY + dt.timedelta(days=200), type_name="Full", joined=NOW, auto_renew=False, **fields):
    user = UserFactory(**fields)
    membership = Membership.objects.create(user=user, created_at=joined)
    TermFactory(membership=membership, membership_type=MembershipTypeFactory(name=type_name), end=end)
    if auto_renew:
        AutoRenew.objects.create(
            membership=membership,
            enabled=True,
            stripe_customer="cus_test0000000001",
            payment_method="pm_card_visa",
            card_brand="visa",
            card_last4="4242",
            card_exp_month=12,
            card_exp_year=2034,
        )
    return user


def announcement(**segment):
    types = segment.pop("membership_types", [])
    row = Announcement.objects.create(
        subject="Call for nominations",
        body="Nominations for the **board** are open.\n\n- until March",
        created_by=StaffFactory(),
        **segment,
    )
    row.membership_types.set(types)
    return row


def send_now(row):
    service.announcement_schedule(announcement_id=row.pk)
    return service.announcement_queue(announcement_id=row.pk)


def rows_of(row):
    return OutgoingEmail.objects.filter(related_key=row.related_key)


# --- The segment -----------------------------------------------------------------------------------


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_each_segment_filter_picks_exactly_its_members():
    CountryBandFactory(country="DE", band="high")
    CountryBandFactory(country="KE", band="low")
    active = member(email="active@lab.example", country="DE", language="de", joined=NOW - dt.timedelta(days=800))
    lapsed = member(email="lapsed@lab.example", country="KE", end=TODAY - dt.timedelta(days=400), language="fr")
    student = member(email="student@lab.example", country="KE", type_name="Student", auto_renew=True)
    erased = member(email="erased@lab.example", country="DE")
    User.objects.filter(pk=erased.pk).update(erased_at=NOW)
    student_type = student.membership.terms.get().membership_type

    def matched(**segment):
        memberships = service.segment_memberships(announcement=announcement(**segment))
        return set(memberships.values_list("user__email", flat=True))

    everyone = {active.email, lapsed.email, student.email}
    assert matched() == everyone
    assert matched(statuses=["lapsed"]) == {lapsed.email}
    assert matched(statuses=["active", "expiring"]) == {active.email, student.email}
    assert matched(membership_types=[student_type]) == {student.email}
    assert matched(bands=["low"]) == {lapsed.email, student.email}
    assert matched(countries=["DE"]) == {active.email}
    assert matched(languages=["fr"]) == {lapsed.email}
    assert matched(joined_before=TODAY - dt.timedelta(days=365)) == {active.email}
    assert matched(joined_after=TODAY) == {lapsed.email, student.email}
    assert matched(auto_renew=True) == {student.email}
    assert matched(auto_renew=False) == {active.email, lapsed.email}
    assert matched(bands=["low"], auto_renew=False) == {lapsed.email}


# --- Queuing: once per member, at the rate, with the member's own unsubscribe link -------------------


@pytest.mark.django_db
def test_queuing_writes_one_row_per_member_spread_at_the_rate_and_a_second_run_writes_nothing(
    settings, django_capture_on_commit_callbacks
):
    settings.ANNOUNCEMENT_RATE = "2/m"
    users = [member(email=f"m{n}@lab.example") for n in range(5)]
    row = announcement()
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=False):
        assert send_now(row) == 5
        # The job again, as if the first run's status change were lost: every member's key exists already.
        Announcement.objects.filter(pk=row.pk).update(status=AnnouncementStatus.SCHEDULED)
        assert service.announcement_queue(announcement_id=row.pk) == 0

    emails = list(rows_of(row).order_by("to"))
    assert [email.to for email in emails] == [user.email for user in users]
    minutes = [(email.next_attempt_at - NOW) / dt.timedelta(minutes=1) for email in emails]
    assert minutes == [0, 0, 1, 1, 2]
    assert {email.idempotency_key for email in emails} == {f"announcement:{row.pk}:user:{user.pk}" for user in users}
    headers = emails[0].headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(https?://[^>]+)>", headers["List-Unsubscribe"]).group(1)
    assert url in emails[0].text_body
    assert url in emails[0].html_body
    # The Markdown rendered both ways, not its source in the text part.
    assert "Nominations for the board are open.\n\n- until March" in emails[0].text_body
    assert "<strong>board</strong>" in emails[0].html_body
    token = urlparse(url).path.rstrip("/").rsplit("/", 1)[1]
    assert service.unsubscribe_user(token=token) == users[0]


@pytest.mark.django_db
def test_queuing_runs_a_fixed_number_of_queries_per_batch_of_members(monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(service, "QUEUE_BATCH", 10)
    for n in range(60):
        member(email=f"m{n}@lab.example", language=["en", "de", "ja"][n % 3])
    row = announcement()
    service.announcement_schedule(announcement_id=row.pk)
    # Per batch of 10: one SELECT of members, one of suppressed addresses, one INSERT; plus a fixed few.
    with django_assert_max_num_queries(6 * 3 + 8):
        assert service.announcement_queue(announcement_id=row.pk) == 60


@pytest.mark.django_db
def test_a_scheduled_announcement_is_queued_by_the_minute_job_once_its_time_has_come():
    member(email="ana@lab.example")
    row = announcement()
    with time_machine.travel(NOW, tick=False):
        service.announcement_schedule(announcement_id=row.pk, send_at=NOW + dt.timedelta(hours=2))
    with time_machine.travel(NOW + dt.timedelta(hours=1, minutes=59), tick=False):
        assert service.announcements_queue_due() == 0
    assert not rows_of(row).exists()
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert service.announcements_queue_due() == 1
        assert service.announcements_queue_due() == 0
    row.refresh_from_db()
    assert (row.status, row.queued_at) == (AnnouncementStatus.QUEUED, NOW + dt.timedelta(hours=2))
    assert rows_of(row).get().to == "ana@lab.example"


@pytest.mark.django_db
def test_scheduling_refuses_the_past_an_empty_segment_and_a_second_schedule():
    member(email="ana@lab.example", country="DE")
    nobody = announcement(countries=["KE"])
    with pytest.raises(Exception, match="No member"):
        service.announcement_schedule(announcement_id=nobody.pk)
    row = announcement()
    with pytest.raises(Exception, match="future"):
        service.announcement_schedule(announcement_id=row.pk, send_at=timezone.now() - dt.timedelta(minutes=1))
    service.announcement_schedule(announcement_id=row.pk)
    with pytest.raises(Exception, match="Only a draft"):
        service.announcement_schedule(announcement_id=row.pk)


# --- Choices: opted out at queue time and at send time; suppressed addresses -------------------------


@pytest.mark.django_db
def test_opted_out_and_suppressed_members_are_counted_and_never_sent(settings):
    wants, declined, gone, late = (
        member(email=f"{name}@lab.example") for name in ("wants", "declined", "gone", "late")
    )
    User.objects.filter(pk=declined.pk).update(wants_announcements=False)
    SuppressedAddress.objects.create(address="gone@lab.example", reason="550")
    row = announcement()
    send_now(row)
    # Opts out after the rows were written, before they are sent: checked again at send time.
    service.member_announcements_set(user=late, wanted=False)

    deliver_outbox()

    assert sorted(message.to[0] for message in mail.outbox) == ["wants@lab.example"]
    statuses = dict(rows_of(row).values_list("to", "status"))
    assert statuses == {
        "wants@lab.example": SENT,
        "declined@lab.example": OPTED_OUT,
        "gone@lab.example": SUPPRESSED,
        "late@lab.example": OPTED_OUT,
    }
    assert service.announcement_report(announcement=row) == {
        "queued": 0,
        "sent": 1,
        "failed": 0,
        "suppressed": 1,
        "opted_out": 2,
    }
    assert mail.outbox[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.django_db
def test_members_opt_out_of_announcements_on_their_profile_but_never_of_receipts(client_logged_in, member):
    page = client_logged_in.get(reverse("members:profile")).content.decode()
    assert 'name="wants_announcements"' in page
    data = {
        "full_name": member.full_name,
        "country": member.country.code,
        "language": member.language,
        "institution": member.institution,
    }
    assert client_logged_in.post(reverse("members:profile"), data).status_code == 302
    member.refresh_from_db()
    assert member.wants_announcements is False


# --- RFC 8058 one-click unsubscribe ---------------------------------------------------------------------


def unsubscribe_path(user):
    return reverse("members:announcements-unsubscribe", kwargs={"token": service.unsubscribe_token(user_id=user.pk)})


@pytest.mark.django_db
def test_the_one_click_post_unsubscribes_without_session_or_csrf_token():
    user = member(email="ana@lab.example")
    client = Client(enforce_csrf_checks=True)
    response = client.post(unsubscribe_path(user), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "no longer receive" in response.content.decode()
    user.refresh_from_db()
    assert user.wants_announcements is False
    assert "sessionid" not in response.cookies
    # The same token again changes nothing further and still answers.
    assert client.post(unsubscribe_path(user), {"List-Unsubscribe": "One-Click"}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    [
        "forged",
        signing.dumps({"u": 1}, salt="another.salt", compress=True),
        signing.dumps({"u": 1}, key="not-the-secret-key-but-long-enough-0123456789", salt=service.UNSUBSCRIBE_SALT),
        "tampered",
        "\x00",
        "unsigned",
    ],
    ids=["forged", "other-salt", "other-key", "tampered", "nul", "unsigned"],
)
def test_a_forged_tampered_or_missing_signature_changes_nothing(token):
    user = member(email="ana@lab.example")
    good = service.unsubscribe_token(user_id=user.pk)
    if token == "tampered":
        token = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    elif token == "unsigned":
        token = good.split(":")[0]  # the payload alone, its signature missing
    client = Client(enforce_csrf_checks=True)
    path = reverse("members:announcements-unsubscribe", kwargs={"token": "x"}).replace("/x/", f"/{token}/")
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code in (400, 404)
    assert client.get(path).status_code in (400, 404)
    user.refresh_from_db()
    assert user.wants_announcements is True


@pytest.mark.django_db
def test_an_expired_link_changes_nothing():
    user = member(email="ana@lab.example")
    with time_machine.travel(NOW - dt.timedelta(days=400), tick=False):
        path = unsubscribe_path(user)
    with time_machine.travel(NOW, tick=False):
        assert Client().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 400
    user.refresh_from_db()
    assert user.wants_announcements is True


@pytest.mark.django_db
def test_the_visible_link_opens_a_page_to_cancel_or_restore_the_choice():
    user = member(email="ana@lab.example")
    client = Client()
    page = client.get(unsubscribe_path(user))
    assert page.status_code == 200
    assert 'value="off"' in page.content.decode()
    assert client.post(unsubscribe_path(user), {"choice": "off"}).status_code == 200
    user.refresh_from_db()
    assert user.wants_announcements is False
    assert 'value="on"' in client.get(unsubscribe_path(user)).content.decode()
    client.post(unsubscribe_path(user), {"choice": "on"})
    user.refresh_from_db()
    assert user.wants_announcements is True
    assert client.post(unsubscribe_path(user), {"choice": "junk"}).status_code == 400


# --- Admin: compose, preview, test, send, schedule ---------------------------------------------------


@pytest.mark.django_db
def test_staff_compose_preview_test_and_send_from_admin(django_capture_on_commit_callbacks):
    staff = StaffFactory(is_superuser=True)
    client = Client()
    client.force_login(staff)
    member(email="ana@lab.example", full_name="Ana Lima", country="BR")
    member(email="kofi@lab.example", full_name="Kofi Mensah", country="GH")
    response = client.post(
        reverse("admin:members_announcement_add"),
        {"subject": "Annual meeting", "body": "Join us in **Lisbon**.", "countries": ["BR"], "statuses": ["active"]},
    )
    assert response.status_code == 302
    row = Announcement.objects.get()
    assert row.created_by == staff

    send_url = reverse("admin:members_announcement_send", args=[row.pk])
    page = client.get(send_url).content.decode()
    assert "1 member matches this segment." in page
    assert "Ana Lima" in page
    assert "<strong>Lisbon</strong>" in page

    client.post(send_url, {"action": "test"})
    test_email = OutgoingEmail.objects.get(kind="announcement_test")
    assert (test_email.to, test_email.subject) == (staff.email, "Annual meeting")

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(send_url, {"action": "schedule", "send_at": "2020-01-01T10:00"}).status_code == 200
        row.refresh_from_db()
        assert row.status == AnnouncementStatus.DRAFT
        assert client.post(send_url, {"action": "now"}).status_code == 302
    row.refresh_from_db()
    assert row.status == AnnouncementStatus.SCHEDULED
    # Once scheduled, the content is fixed.
    assert client.post(reverse("admin:members_announcement_change", args=[row.pk]), {"subject": "Changed"})
    row.refresh_from_db()
    assert row.subject == "Annual meeting"


# --- A real worker, killed mid-send and restarted ---------------------------------------------------------


@pytest.fixture
def worker_args(celery_app, transactional_db, smtp_server, settings):
    return {
        "broker_url": celery_app.conf.broker_url,
        "queue": celery_app.conf.task_default_queue,
        "database_name": settings.DATABASES["default"]["NAME"],
        "smtp_port": smtp_server.port,
    }


def test_a_worker_killed_mid_send_and_restarted_sends_each_member_once_and_never_the_opted_out(
    worker_args, smtp_server, settings
):
    settings.OUTBOX_BATCH_SIZE = 10  # the publishing side cuts the batches
    wanted = [member(email=f"m{n}@lab.example") for n in range(24)]
    declined = member(email="declined@lab.example", wants_announcements=False)
    gone = member(email="gone@lab.example")
    SuppressedAddress.objects.create(address="gone@lab.example", reason="550")
    row = announcement()
    # The server stalls on the ninth message of the batch; the worker dies while it waits for the answer.
    arrived, release = smtp_server.handler.hold_next_message()
    smtp_server.handler.hold_from = 8

    first = WorkerProcess(**worker_args)
    first.start()
    try:
        with transaction.atomic():
            send_now(row)
        assert arrived.wait(90), "the worker never reached the ninth message"
        first.kill()
    finally:
        release.set()
        first.stop()
    assert smtp_server.handler.count() == 8
    held = rows_of(row).filter(status=OutgoingEmailStatus.SENDING)
    assert held.count() == 2  # the ninth and tenth of the batch: claimed by the dead worker
    lease_ends = max(held.values_list("lease_expires_at", flat=True))
    # One more member opts out while the worker is down: the restarted worker must not send to them.
    late = wanted.pop()
    service.member_announcements_set(user=late, wanted=False)

    second = WorkerProcess(**worker_args)
    second.start()
    try:

        def all_settled():
            # Past the dead worker's lease (not the live one's): what it held comes back once.
            outbox_requeue_due(now=lease_ends + dt.timedelta(seconds=1))
            return not rows_of(row).filter(status__in=[QUEUED, OutgoingEmailStatus.SENDING]).exists()

        wait_for(all_settled, timeout=120, interval=0.5, message="every row to be settled")
    finally:
        second.stop()

    assert smtp_server.handler.recipients() == {user.email: 1 for user in wanted}
    assert service.announcement_report(announcement=row) == {
        "queued": 0,
        "sent": len(wanted),
        "failed": 0,
        "suppressed": 1,
        "opted_out": 2,
    }
    assert {declined.email, gone.email, late.email}.isdisjoint(smtp_server.handler.recipients())


@pytest.mark.django_db
def test_the_send_page_needs_staff_with_a_second_factor(member):
    row = announcement()
    url = reverse("admin:members_announcement_send", args=[row.pk])
    staff_without_code = Client()
    staff_without_code.force_login(StaffFactory(is_superuser=True), mfa=False)
    assert staff_without_code.get(url).url.startswith(reverse("mfa_reauthenticate"))
    assert staff_without_code.post(url, {"action": "now"}).status_code == 302
    a_member = Client()
    a_member.force_login(member)
    assert a_member.post(url, {"action": "now"}).url.startswith(reverse("admin:login"))
    row.refresh_from_db()
    assert row.status == AnnouncementStatus.DRAFT
    assert not OutgoingEmail.objects.exists()
