"""Renewal reminders at scale: due computation and queueing for 100,000 members, delivery throughput.

Usage: python bench/reminders.py [members] [due] [deliveries]
Builds a throw-away database (<DATABASE_URL name>_reminders_bench), fills it with `members` members
whose terms end across the year, `due` of them due today, and prints:
  - the due computation alone (time, queries);
  - the whole job: compute, render, write outbox + delivery rows (time, queries), then publish the
    send tasks to a private Redis queue (database 11, a queue name of its own, deleted afterwards);
  - delivery throughput to a local SMTP sink (aiosmtpd): the outbox send service, a real Celery worker,
    and raw smtplib sending the same messages (MIME built beforehand, not timed) to the same sink,
    with the ratio.
The bench database is dropped at the end.
"""

import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "society.settings.local")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-key-bench-only-key-bench-only-key-0123456789")
os.environ["LOG_LEVEL"] = "ERROR"

from _harness import throwaway_database

drop_database = throwaway_database("reminders_bench")

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402
import smtplib  # noqa: E402
from decimal import Decimal  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from members.models import (  # noqa: E402
    CountryBand,
    Membership,
    MembershipType,
    OutgoingEmail,
    OutgoingEmailStatus,
    Price,
    ReminderRule,
    Term,
    User,
)
from members.models.memberships import society_today  # noqa: E402
from members.services.reminders import reminders_due, renewal_reminders_send  # noqa: E402
from society.services.mail import _build_message, outgoing_email_send  # noqa: E402
from tests.members.outbox_support import (  # noqa: E402
    TEST_BROKER_DB,
    current_celery_app,
    delete_queue,
    free_port,
    make_test_app,
    wait_for,
    worker_thread,
)

COUNTRIES = ["DE", "BR", "JP", "KE", "IN", "US", "VN", "GR", "EG", "AR"]
BANDS = {"DE": "high", "US": "high", "JP": "high", "GR": "high", "BR": "upper_middle", "AR": "upper_middle"}
LANGUAGES = ["en", "de", "fr", "es", "pt", "ja", "zh-hans"]


class CountingSink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 2.0.0 Ok: queued"


def seed(members: int, due: int, today: dt.date):
    # update_or_create: the data migrations already assign every country a band (and may add types).
    full, _ = MembershipType.objects.get_or_create(slug="full", defaults={"name": "Full", "term_months": 12})
    for country in COUNTRIES:
        CountryBand.objects.update_or_create(country=country, defaults={"band": BANDS.get(country, "lower_middle")})
    for band, amount in {"high": 150, "upper_middle": 90, "lower_middle": 45, "low": 20}.items():
        Price.objects.update_or_create(membership_type=full, band=band, defaults={"amount": Decimal(amount)})
    rules = list(ReminderRule.objects.active())
    due_days = [today - dt.timedelta(days=rule.offset_days) for rule in rules]
    # Every end date that some rule's 7-day window covers: the other members must end outside them.
    covered = {today - dt.timedelta(days=rule.offset_days + back) for rule in rules for back in range(0, 8)}
    quiet_days = [today + dt.timedelta(days=n) for n in range(-40, 330) if today + dt.timedelta(days=n) not in covered]
    ends = [due_days[n % len(due_days)] for n in range(due)]
    ends += [quiet_days[n % len(quiet_days)] for n in range(members - due)]

    users = [
        User(
            email=f"member{n}@bench.example",
            full_name=f"Member {n}",
            country=COUNTRIES[n % len(COUNTRIES)],
            language=LANGUAGES[n % len(LANGUAGES)],
            password="!",
        )
        for n in range(members)
    ]
    users = User.objects.bulk_create(users, batch_size=5000)
    memberships = Membership.objects.bulk_create([Membership(user=user) for user in users], batch_size=5000)
    Term.objects.bulk_create(
        [
            Term(membership=membership, membership_type=full, start=end - dt.timedelta(days=364), end=end)
            for membership, end in zip(memberships, ends, strict=True)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(function):
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - start
    return result, elapsed, len(queries)


def main():
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    due = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    deliveries = int(sys.argv[3]) if len(sys.argv) > 3 else 2_000
    call_command("migrate", verbosity=0)
    today = society_today()
    start = time.perf_counter()
    seed(members, due, today)
    print(f"seeded {members:,} members ({due:,} due on {today}) in {time.perf_counter() - start:.1f}s")

    rules = list(ReminderRule.objects.active())
    found, elapsed, queries = timed(lambda: len(list(reminders_due(today=today, rules=rules))))
    print(f"due computation:          {found:,} due terms in {elapsed * 1000:.0f} ms, {queries} query")

    queue = f"bench-reminders-{uuid.uuid4().hex[:8]}"
    broker = f"redis://127.0.0.1:6379/{TEST_BROKER_DB}"
    app = make_test_app(broker, queue)
    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        with current_celery_app(app):
            connection.force_debug_cursor = True
            run, elapsed, queries = timed(renewal_reminders_send)
            print(
                f"job (compute, render, write {run.total:,} outbox + delivery rows, publish tasks): "
                f"{elapsed:.2f}s, {queries} queries, {run.total / elapsed:,.0f} reminders/s"
            )
            delete_queue(broker, queue)  # the bench measures delivery below on a subset

            ids = list(OutgoingEmail.objects.order_by("pk").values_list("pk", flat=True)[: deliveries * 3])
            service_ids, worker_ids, raw_ids = ids[:deliveries], ids[deliveries : 2 * deliveries], ids[2 * deliveries :]

            start = time.perf_counter()
            for email_id in service_ids:
                outgoing_email_send(email_id=email_id)
            service_rate = len(service_ids) / (time.perf_counter() - start)

            from members.tasks import send_outgoing_email

            with worker_thread(app):
                before = sink.count
                start = time.perf_counter()
                with app.producer_or_acquire() as producer:
                    for email_id in worker_ids:
                        send_outgoing_email.apply_async(args=[email_id], producer=producer)
                wait_for(lambda: sink.count - before >= len(worker_ids), timeout=600, interval=0.01)
                worker_rate = len(worker_ids) / (time.perf_counter() - start)
            delete_queue(broker, queue)

            messages = [_build_message(email).message() for email in OutgoingEmail.objects.filter(pk__in=raw_ids)]
            start = time.perf_counter()
            for message in messages:
                with smtplib.SMTP("127.0.0.1", port) as smtp:
                    smtp.sendmail(settings.DEFAULT_FROM_EMAIL, [message["To"]], message.as_bytes(linesep="\r\n"))
            raw_rate = len(messages) / (time.perf_counter() - start)
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for message in messages:
                    smtp.sendmail(settings.DEFAULT_FROM_EMAIL, [message["To"]], message.as_bytes(linesep="\r\n"))
            raw_reuse_rate = len(messages) / (time.perf_counter() - start)

        sent = OutgoingEmail.objects.filter(status=OutgoingEmailStatus.SENT).count()
        print(
            f"delivery, outbox service (lock, send, mark sent; one SMTP connection each): {service_rate:,.0f} emails/s"
        )
        print(f"delivery, Celery worker (2 threads) -> outbox service -> SMTP:           {worker_rate:,.0f} emails/s")
        print(f"delivery, raw smtplib, one connection per message:                        {raw_rate:,.0f} emails/s")
        print(
            f"delivery, raw smtplib, one connection for all:                            {raw_reuse_rate:,.0f} emails/s"
        )
        print(f"ratio outbox service / raw smtplib (same connection pattern): {service_rate / raw_rate:.2f}")
        print(f"ratio Celery worker / raw smtplib (same connection pattern):  {worker_rate / raw_rate:.2f}")
        print(f"rows marked sent: {sent:,}; messages at the sink: {sink.count:,}")
    finally:
        controller.stop()
        delete_queue(broker, queue)
        drop_database()


if __name__ == "__main__":
    main()
