"""Guideline alerts at scale: the fan-out of an edition that changes 300 provisions to 20,000 subscribers.

Usage: python bench/alerts.py [subscribers] [changed]
Builds a throw-away database (<DATABASE_URL name>_alerts_bench) with a guideline of `changed` + 100 provisions in
two parts, and `subscribers` addresses: a tenth following the whole guideline, a tenth a part, the rest one
provision each (half of them one that changes). Publishes a revision that rewords `changed` provisions, then
times the fan-out (compare, render, write the outbox rows, publish the send tasks to a private Redis queue on
database 11, deleted afterwards) and prints the time, the queries and the emails queued. The database is dropped.
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

drop_database = throwaway_database("alerts_bench")

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.db.models.functions import Length  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from guidelines.models import AlertSubscription, Edition, Guideline, Provision, ProvisionVersion  # noqa: E402
from guidelines.services import edition_publish, edition_start_from  # noqa: E402
from guidelines.services.alert_fanout import edition_alerts_send  # noqa: E402
from society.models import OutgoingEmail  # noqa: E402
from tests.workers import TEST_BROKER_DB, current_celery_app, delete_queue, make_test_app  # noqa: E402


def version(edition, provision, number, parent, order, body, kind="section"):
    row = ProvisionVersion(
        edition=edition,
        provision=provision,
        number=number,
        heading=f"Heading of {number}",
        kind=kind,
        parent=parent,
        order=order,
        body=body,
    )
    row.refresh_derived()
    return row


# A provision of about 150 words, of which a revision changes two phrases.
BODY = (
    "Investigators must obtain the written informed consent of every donor before any material is collected. "
    "The consent form must describe the purposes of the research, the possibility of commercial use, the "
    "storage of the material and of the data derived from it, and the right of the donor to withdraw at any "
    "time without giving a reason. Consent must be obtained by a person who is not involved in the donor's "
    "clinical care, and the donor must be given enough time to consider the information and to ask questions. "
    "Where the donor cannot consent, the law of the jurisdiction decides who may consent on their behalf. "
    "Records of consent must be kept for as long as the material or any line derived from it is used, and "
    "institutions must review them each year and report any breach to the board of the oversight committee."
)


def seed(subscribers: int, changed: int):
    guideline = Guideline.objects.create(title="Bench guideline", slug="bench")
    first = Edition.objects.create(guideline=guideline, label="2016", slug="2016", change_summary="First.")
    parts = Provision.objects.bulk_create([Provision(guideline=guideline, slug=f"part-{n}") for n in (1, 2)])
    count = changed + 100
    sections = Provision.objects.bulk_create([Provision(guideline=guideline, slug=f"s-{n}") for n in range(count)])
    rows = [version(first, part, str(n + 1), None, n * 100_000, "", kind="part") for n, part in enumerate(parts)]
    rows += [
        version(first, section, f"{n % 2 + 1}.{n}", parts[n % 2], (n % 2) * 100_000 + n + 1, f"{n}. {BODY}")
        for n, section in enumerate(sections)
    ]
    ProvisionVersion.objects.bulk_create(rows)
    edition_publish(edition=first, published_on=dt.date(2016, 5, 1))

    draft = edition_start_from(edition=first, label="2021", slug="2021")
    reworded = []
    for row in draft.versions.filter(provision__in=sections[:changed]):
        row.body = row.body.replace("written informed", "written and informed").replace("each year", "every year")
        row.refresh_derived()
        reworded.append(row)
    ProvisionVersion.objects.bulk_update(reworded, ["body", "body_html", "body_text", "content_hash"])
    Edition.objects.filter(pk=draft.pk).update(change_summary="Revised.")

    now = timezone.now()
    targets = []
    for n in range(subscribers):
        if n % 10 == 0:
            target = None
        elif n % 10 == 1:
            target = parts[n % 2]
        else:
            target = sections[n % count] if n % 2 else sections[n % changed]
        targets.append(target)
    AlertSubscription.objects.bulk_create(
        [
            AlertSubscription(
                email=f"reader{n}@lab{n % 97}.example",
                guideline=guideline,
                provision=target,
                language=("en", "es", "fr", "de")[n % 4],
                status=AlertSubscription.Status.ACTIVE,
                confirmed_at=now,
            )
            for n, target in enumerate(targets)
        ],
        batch_size=5000,
    )
    return draft


def main():
    subscribers = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    changed = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    call_command("migrate", verbosity=0)
    queue = f"bench-alerts-{uuid.uuid4().hex[:8]}"
    broker = f"redis://127.0.0.1:6379/{TEST_BROKER_DB}"
    app = make_test_app(broker, queue)
    try:
        with current_celery_app(app):
            start = time.perf_counter()
            draft = seed(subscribers, changed)
            # Publishing queues the fan-out task to the private queue, which no worker reads: the bench runs it here.
            edition = edition_publish(edition=draft, published_on=dt.date(2021, 5, 1))
            print(
                f"seeded {subscribers:,} subscribers, {changed} changed provisions in {time.perf_counter() - start:.1f}s"
            )

            connection.force_debug_cursor = True
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                queued = edition_alerts_send(edition_id=edition.pk)
                elapsed = time.perf_counter() - start
            emails = OutgoingEmail.objects.filter(kind="guideline_alert")
            largest = max(len(body) for body in emails.values_list("html_body", flat=True)[:2000])
            written = emails.aggregate(total=Sum(Length("html_body") + Length("text_body")))["total"]
            print(
                f"alert fan-out ({changed} changed provisions, {subscribers:,} subscribers): {queued:,} emails queued "
                f"in {elapsed:.2f}s ({queued / elapsed:,.0f} emails/s), {len(queries)} queries, "
                f"largest HTML part {largest / 1024:.0f} KiB, {written / 2**20:,.0f} MiB of bodies written"
            )
    finally:
        delete_queue(broker, queue)
        drop_database()


if __name__ == "__main__":
    main()
