"""Auto-renew at scale: the daily job over 100,000 memberships of which 10,000 are due to be charged.

Usage: python bench/renewals.py [members] [due] [charges] [notices]
Builds a throw-away database (<DATABASE_URL name>_renewals_bench) holding `members` members: `due` with
auto-renew on, noticed 14 days ago, whose term ends in 7 days (due to be charged today); `notices` with
auto-renew on whose term ends in 21 days (due a notice today); as many as `due` with auto-renew on but
ending later (not due); the rest without auto-renew. Prints:
  - the selection alone (what is due: notices, card warnings, charges): time, queries;
  - the whole job (select, then publish one charge task per due membership to a private Redis queue on
    REDIS_URL, deleted afterwards): time, queries;
  - `charges` of those tasks' service run one after another against the local Stripe-like server
    (tests/members/stripe_server.py): charges per second and queries per charge.
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

drop_database = throwaway_database("renewals_bench")

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402
from collections import deque  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from members.models import (  # noqa: E402
    AutoRenew,
    CountryBand,
    Membership,
    MembershipType,
    Price,
    RenewalNotice,
    Term,
    User,
)
from members.models.memberships import society_today  # noqa: E402
from members.services.renewal_charges import autorenew_charge, autorenew_run  # noqa: E402
from members.services.renewal_schedule import autorenew_due  # noqa: E402
from society.models import OutgoingEmail  # noqa: E402
from tests.members.stripe_server import FakeStripe  # noqa: E402
from tests.workers import current_celery_app, delete_queue, make_test_app  # noqa: E402

COUNTRIES = ["DE", "BR", "JP", "KE", "IN", "US", "VN", "GR", "EG", "AR"]
BANDS = {"DE": "high", "US": "high", "JP": "high", "GR": "high", "BR": "upper_middle", "AR": "upper_middle"}
AMOUNTS = {"high": 150, "upper_middle": 90, "lower_middle": 45, "low": 20}


def seed(members: int, due: int, notices: int, today: dt.date):
    full, _ = MembershipType.objects.get_or_create(slug="full", defaults={"name": "Full", "term_months": 12})
    for country in COUNTRIES:
        CountryBand.objects.update_or_create(country=country, defaults={"band": BANDS.get(country, "lower_middle")})
    for band, amount in AMOUNTS.items():
        Price.objects.update_or_create(membership_type=full, band=band, defaults={"amount": Decimal(amount)})
    due_end = today + dt.timedelta(days=7)
    later = [today + dt.timedelta(days=n) for n in range(60, 330)]
    notice_end = today + dt.timedelta(days=21)
    ends = [due_end] * due + [notice_end] * notices + [later[n % len(later)] for n in range(members - due - notices)]
    users = User.objects.bulk_create(
        [
            User(
                email=f"member{n}@bench.example",
                full_name=f"Member {n}",
                country=COUNTRIES[n % len(COUNTRIES)],
                password="!",
            )
            for n in range(members)
        ],
        batch_size=5000,
    )
    memberships = Membership.objects.bulk_create([Membership(user=user) for user in users], batch_size=5000)
    terms = Term.objects.bulk_create(
        [
            Term(membership=membership, membership_type=full, start=end - dt.timedelta(days=364), end=end)
            for membership, end in zip(memberships, ends, strict=True)
        ],
        batch_size=5000,
    )
    # Auto-renew on for the due members and as many others (not due); off for everyone else.
    AutoRenew.objects.bulk_create(
        [
            AutoRenew(
                membership=membership,
                enabled=True,
                stripe_customer=f"cus_bench{n}",
                payment_method="pm_card_visa",
                card_brand="visa",
                card_last4="4242",
                card_exp_month=12,
                card_exp_year=today.year + 5,
            )
            for n, membership in enumerate(memberships[: 2 * due + notices])
        ],
        batch_size=5000,
    )
    noticed = today - dt.timedelta(days=14)
    emails = OutgoingEmail.objects.bulk_create(
        [
            OutgoingEmail(to=f"member{n}@bench.example", subject="notice", text_body="notice", kind="autorenew_notice")
            for n in range(due)
        ],
        batch_size=5000,
    )
    RenewalNotice.objects.bulk_create(
        [
            RenewalNotice(
                membership=membership,
                term=term,
                membership_type=full,
                band=BANDS.get(membership.user.country, "lower_middle"),
                amount=Decimal(AMOUNTS[BANDS.get(membership.user.country, "lower_middle")]),
                currency=settings.DUES_CURRENCY,
                sent_on=noticed,
                charge_on=today,
                email=email,
            )
            for membership, term, email in zip(memberships[:due], terms[:due], emails, strict=True)
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
    charges = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    notices = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000
    call_command("migrate", verbosity=0)
    today = society_today()
    start = time.perf_counter()
    seed(members, due, notices, today)
    print(
        f"seeded {members:,} members ({2 * due + notices:,} with auto-renew, {due:,} due a charge and {notices:,} "
        f"a notice today) in {time.perf_counter() - start:.1f}s"
    )

    found, elapsed, queries = timed(lambda: autorenew_due(today=today, days_before=7))
    print(
        f"selection: {len(found.charges):,} charges, {len(found.notices):,} notices, "
        f"{len(found.card_warnings):,} card warnings due in {elapsed * 1000:.0f} ms, {queries} queries"
    )

    queue = f"bench-renewals-{uuid.uuid4().hex[:8]}"
    broker = settings.CELERY_BROKER_URL
    app = make_test_app(broker, queue)
    try:
        with current_celery_app(app):
            connection.force_debug_cursor = True
            # Keep every query: the default log of 9,000 would cap the per-charge count below.
            connection.queries_log = deque()
            # on_commit callbacks (the publish) run when the job's transaction commits, inside the timing.
            run, elapsed, queries = timed(lambda: autorenew_run(today=today))
            print(
                f"job (select; render and write {run.notices:,} notices to the outbox; publish their send tasks "
                f"and {run.charges_queued:,} charge tasks to Redis): {elapsed:.2f}s, {queries} queries"
            )
        with FakeStripe() as fake:
            settings.STRIPE_SECRET_KEY = "sk_test_bench"
            settings.STRIPE_API_BASE = fake.url
            ids = run.charge_ids[:charges]
            outcomes, elapsed, queries = timed(
                lambda: [autorenew_charge(membership_id=membership_id, today=today) for membership_id in ids]
            )
            print(
                f"charges against the local Stripe-like server: {len(ids):,} in {elapsed:.2f}s "
                f"({len(ids) / elapsed:,.0f}/s, {queries / len(ids):.1f} queries each); "
                f"paid: {outcomes.count('paid'):,}, PaymentIntents: {len(fake.charges()):,}"
            )
    finally:
        delete_queue(broker, queue)


if __name__ == "__main__":
    try:
        main()
    finally:
        drop_database()
