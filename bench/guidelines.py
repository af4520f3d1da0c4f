"""Time the guidelines library's heaviest pages through Django's full request stack, next to a trivial view.

Builds (once, idempotently) a benchmark guideline with 10 published editions of 300 provisions each, then
prints requests per second and p50/p95/p99 latency for the edition page, the compare page and search, and for
/robots.txt (the project's cheapest view) served the same way in the same run. Cached rows show the steady state readers
see (published pages are cached); uncached rows clear the cache before every request.

Usage: python bench/guidelines.py [requests-per-page]
Works in its own database `<DATABASE_URL name>_guidelines` (created and migrated when missing, kept for the next run).
"""

import datetime
import os
import sys
import time

import _harness

_harness.throwaway_database("guidelines", reuse=True)
_harness.setup_django()


from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from guidelines.models import Edition, Guideline, Provision, ProvisionVersion  # noqa: E402
from guidelines.services import edition_publish  # noqa: E402

SLUG = "bench-guideline"
PROVISIONS = 300
EDITIONS = 10
WORDS = [
    "research",
    "participants",
    "consent",
    "review",
    "oversight",
    "embryo",
    "culture",
    "donors",
    "committee",
    "data",
    "sharing",
    "clinical",
    "trial",
    "risk",
    "benefit",
    "monitoring",
    "registration",
    "laboratory",
    "standards",
    "transparency",
    "integrity",
    "justice",
]


def _body(index, edition):
    words = [
        WORDS[(index * 7 + step * 3 + (edition if step == 4 and index % 5 == 0 else 0)) % len(WORDS)]
        for step in range(40)
    ]
    return " ".join(words).capitalize() + "."


def migrate():
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@transaction.atomic
def build():
    """Ten editions; each rewords every fifth provision and renumbers a few, like a real revision."""
    guideline, _created = Guideline.objects.get_or_create(slug=SLUG, defaults={"title": "Benchmark guideline"})
    provisions = {p.slug: p for p in guideline.provisions.all()}
    for index in range(PROVISIONS):
        slug = f"p{index}"
        if slug not in provisions:
            provisions[slug] = Provision.objects.create(guideline=guideline, slug=slug)
    for number in range(EDITIONS):
        slug = str(2000 + number)
        if guideline.editions.filter(slug=slug).exists():
            continue
        edition = Edition.objects.create(
            guideline=guideline, label=slug, slug=slug, change_summary=f"Revision {number}."
        )
        versions = []
        for index in range(PROVISIONS):
            part, section = divmod(index, 30)
            version = ProvisionVersion(
                edition=edition,
                provision=provisions[f"p{index}"],
                number=f"{part + 1}"
                if section == 0
                else f"{part + 1}.{section + (100 + number if index % 50 == 1 else 0)}",
                heading=f"Heading {index} {WORDS[index % len(WORDS)]}",
                kind="part" if section == 0 else "section",
                parent=None if section == 0 else provisions[f"p{part * 30}"],
                order=index * 10,
                body=_body(index, number),
            )
            version.refresh_derived()
            versions.append(version)
        ProvisionVersion.objects.bulk_create(versions)
        edition_publish(edition=edition, published_on=datetime.date(2000 + number, 1, 1))
    # Statistics as autovacuum would have them on a live database: without them Postgres guesses one matching
    # row everywhere and plans the search as nested loops.
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE guidelines_guideline, guidelines_edition, guidelines_provision, guidelines_provisionversion"
        )


def clear_own_cache_keys():
    """Delete only this run's keys. Never cache.clear(): on Redis that is FLUSHDB, which would wipe the
    broker queue and every other process's cache on a shared server."""
    prefix = cache.key_prefix
    redis = cache._cache.get_client(None, write=True)
    keys = list(redis.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        redis.delete(*keys)


def measure(client, path, count, *, clear_cache=False):
    client.get(path)  # warm connections and caches
    timings = []
    for _ in range(count):
        if clear_cache:
            clear_own_cache_keys()
        start = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return {**_harness.latency_figures(timings), **_harness.percentiles(timings)}


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    migrate()
    build()
    first, last = f"{2000}", f"{2000 + EDITIONS - 1}"
    pages = [
        ("/robots.txt", "/robots.txt", False),
        ("edition (cached)", f"/guidelines/{SLUG}/{last}/", False),
        ("edition (uncached)", f"/guidelines/{SLUG}/{last}/", True),
        ("compare (cached)", f"/guidelines/{SLUG}/compare/{first}/{last}/", False),
        ("compare (uncached)", f"/guidelines/{SLUG}/compare/{first}/{last}/", True),
        ("search (cached)", "/guidelines/search/?q=consent+review", False),
        ("search (current)", "/guidelines/search/?q=consent+review", True),
        ("search (all editions)", "/guidelines/search/?q=consent+review&editions=all", True),
    ]
    # The cache is Redis, shared with anything else on this machine: use a private prefix for the run.
    caches = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"bench-{os.getpid()}"}}
    with override_settings(CACHES=caches):
        client = Client(SERVER_NAME="localhost")
        print(
            f"{'page':<24}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}   "
            f"({count} requests each, one process; {EDITIONS} editions x {PROVISIONS} provisions)"
        )
        for label, url, uncached in pages:
            figures = measure(client, url, count if not uncached else max(20, count // 5), clear_cache=uncached)
            print(
                f"{label:<24}{figures['rps']:>10.0f}{figures['p50_ms']:>10.2f}{figures['p95_ms']:>10.2f}"
                f"{figures['p99_ms']:>10.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
