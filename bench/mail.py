"""The outbox's delivery throughput against raw smtplib, and queuing an announcement to 100,000 members.

Usage: python bench/mail.py [messages] [members] [subscribers]
Builds a throw-away database (<DATABASE_URL name>_mail_bench), starts an aiosmtpd sink on a free port
(a process of its own, so the server does not share this process's interpreter lock with the client
measured) and prints:
  - raw smtplib: `messages` prebuilt messages over one connection (MIME built beforehand, not timed);
  - the outbox: the same number of queued rows sent by the batch service (claim, build, send, record
    each row), batches of OUTBOX_BATCH_SIZE over one connection each; and the ratio (target >= 0.8);
  - queuing one announcement to `members` members (render, write outbox rows; target <= 60 s) and the
    queries per batch of members (constant: no query per member);
  - then, through bench/alerts.py, the alert fan-out of an edition changing 300 provisions to `subscribers`
    subscribers (third argument, default 20,000).
The bench database is dropped at the end.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "society.settings.local")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-key-bench-only-key-bench-only-key-0123456789")
os.environ["LOG_LEVEL"] = "ERROR"

from _harness import throwaway_database

drop_database = throwaway_database("mail_bench")

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402
import smtplib  # noqa: E402
import subprocess  # noqa: E402
from email.message import EmailMessage  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from members.models import Membership, MembershipType, Term, User  # noqa: E402
from members.models.announcements import Announcement  # noqa: E402
from members.services import announcements as announcement_services  # noqa: E402
from society.models import OutgoingEmail, OutgoingEmailStatus  # noqa: E402
from society.services.mail import _build_message, outgoing_emails_send  # noqa: E402
from tests.workers import ROOT, free_port, wait_for  # noqa: E402

COUNTRIES = ["DE", "BR", "JP", "KE", "IN", "US", "VN", "GR", "EG", "AR"]
LANGUAGES = ["en", "de", "fr", "es", "pt", "ja", "zh-hans"]


def start_sink(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/aiosmtpd"), "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def accepts():
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=1):
                return True
        except OSError:
            return False

    wait_for(accepts, timeout=30, message="the SMTP sink to accept connections")
    return server


def delivery(messages: int, port: int):
    rows = [
        OutgoingEmail(
            to=f"reader{n}@bench.example",
            subject=f"Society news {n}",
            text_body="Dear reader,\n\n" + "The society's news of the month. " * 40,
            html_body="<p>Dear reader,</p><p>" + "The society's news of the month. " * 40 + "</p>",
            kind="bench",
        )
        for n in range(2 * messages)
    ]
    ids = [row.pk for row in OutgoingEmail.objects.bulk_create(rows, batch_size=1000)]
    raw_ids, outbox_ids = ids[:messages], ids[messages:]

    raw_rows = list(OutgoingEmail.objects.filter(pk__in=raw_ids))
    # What any sender does with smtplib: build each message with the standard library, send it.
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for row in raw_rows:
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = row.subject, settings.DEFAULT_FROM_EMAIL, row.to
            message["Message-ID"] = row.message_id
            message.set_content(row.text_body)
            message.add_alternative(row.html_body, subtype="html")
            smtp.send_message(message)
    raw_rate = messages / (time.perf_counter() - start)
    # And the floor no sender reaches: the MIME built beforehand, untimed.
    prebuilt = [_build_message(email).message() for email in raw_rows]
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for message in prebuilt:
            smtp.sendmail(settings.DEFAULT_FROM_EMAIL, [message["To"]], message.as_bytes(linesep="\r\n"))
    prebuilt_rate = messages / (time.perf_counter() - start)

    size = settings.OUTBOX_BATCH_SIZE
    start = time.perf_counter()
    for first in range(0, len(outbox_ids), size):
        outgoing_emails_send(email_ids=outbox_ids[first : first + size])
    outbox_rate = messages / (time.perf_counter() - start)
    sent = OutgoingEmail.objects.filter(pk__in=outbox_ids, status=OutgoingEmailStatus.SENT).count()
    assert sent == messages, f"only {sent} of {messages} rows recorded as sent"
    print(f"raw smtplib, one connection, stdlib MIME per message: {raw_rate:,.0f} msgs/s")
    print(f"raw smtplib, one connection, MIME prebuilt (untimed): {prebuilt_rate:,.0f} msgs/s")
    print(f"outbox, batches of {size} over one connection each:     {outbox_rate:,.0f} msgs/s")
    print(f"ratio outbox / raw smtplib:                           {outbox_rate / raw_rate:.2f}x (target >= 0.8)")
    print(f"ratio outbox / raw smtplib with MIME prebuilt:        {outbox_rate / prebuilt_rate:.2f}x", flush=True)


def seed_members(members: int):
    full, _ = MembershipType.objects.get_or_create(slug="full", defaults={"name": "Full", "term_months": 12})
    users = User.objects.bulk_create(
        [
            User(
                email=f"member{n}@bench.example",
                full_name=f"Member {n}",
                country=COUNTRIES[n % len(COUNTRIES)],
                language=LANGUAGES[n % len(LANGUAGES)],
                password="!",
            )
            for n in range(members)
        ],
        batch_size=5000,
    )
    Membership.objects.bulk_create([Membership(user=user) for user in users], batch_size=5000)
    today = dt.date.today()
    table = Term._meta.db_table
    with connection.cursor() as cursor:
        # A Term per membership in one statement, with the term trigger off (the bench database is thrown
        # away): it updates the membership row by row, over ten minutes for 100,000 terms here. One UPDATE
        # then lets the membership's own trigger derive current_end from the terms.
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(
            f'INSERT INTO {table} (membership_id, membership_type_id, start, "end", created_at, void_reason)'
            " SELECT id, %s, %s, %s, now(), '' FROM members_membership",
            [full.pk, today, today + dt.timedelta(days=364)],
        )
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cursor.execute("UPDATE members_membership SET cancelled_at = cancelled_at")
        cursor.execute("ANALYZE")


def announcement_queueing(members: int):
    start = time.perf_counter()
    seed_members(members)
    print(f"seeded {members:,} members in {time.perf_counter() - start:.1f}s", flush=True)
    staff = User.objects.create(email="office@bench.example", full_name="Office", country="DE", is_staff=True)
    announcement = Announcement.objects.create(
        subject="Call for nominations",
        body="Dear members,\n\nNominations for the **board** are open until March.\n\n- one\n- two\n",
        created_by=staff,
    )
    announcement_services.announcement_schedule(announcement_id=announcement.pk)
    connection.force_debug_cursor = True
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        with transaction.atomic():
            queued = announcement_services.announcement_queue(announcement_id=announcement.pk)
        elapsed = time.perf_counter() - start
    batches = -(-members // announcement_services.QUEUE_BATCH)
    print(
        f"queue one announcement to {queued:,} members: {elapsed:.1f}s (target <= 60 s), {len(queries)} queries"
        f" for {batches} batches of {announcement_services.QUEUE_BATCH} ({len(queries) / batches:.1f} per batch)"
    )


def main():
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    members = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    call_command("migrate", verbosity=0)
    port = free_port()
    sink = start_sink(port)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        delivery(messages, port)
        announcement_queueing(members)
    finally:
        sink.terminate()
        sink.wait(timeout=10)


if __name__ == "__main__":
    try:
        main()
    finally:
        drop_database()
    # The third figure of the issue: the guideline-alert fan-out (300 changed provisions to 20,000 subscribers),
    # in a process and throw-away database of its own (bench/alerts.py).
    subscribers = sys.argv[3] if len(sys.argv) > 3 else "20000"
    subprocess.run([sys.executable, str(Path(__file__).resolve().parent / "alerts.py"), subscribers, "300"], check=True)
