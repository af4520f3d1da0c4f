"""The members directory over 500,000 memberships of which about 100,000 are listed: the list, searches and the
country filter, p50/p95 beside /robots.txt (the cheapest view) in the same run, and the search plan.

Usage: python bench/directory.py [memberships] [--reuse] [--keep] [--explain]
Writes the population (default 500,000, bench/_population.py) into the throwaway database
`<DATABASE_URL name>_population`, shared with bench/memberships.py, and prints how long that took. --reuse
keeps and reuses that database when it already holds the population (--keep leaves it at the end);
--explain prints EXPLAIN ANALYZE of the search's statements.
"""

import datetime
import os
import sys
import time

import _harness

ARGS = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
REUSE, KEEP = "--reuse" in sys.argv, "--keep" in sys.argv or "--reuse" in sys.argv
drop_database = _harness.throwaway_database("population", reuse=REUSE)
_harness.setup_django()

import _population  # noqa: E402
from allauth.account.models import EmailAddress  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from members.models import Membership, MembershipType, Term, User  # noqa: E402
from members.models.memberships import society_today  # noqa: E402
from tests.clients import Client  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", 20))
DIRECTORY = "/membership/directory/"


def measure(client, url, params):
    client.get(url, params)
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        client.get(url, params)
        timings.append(time.perf_counter() - start)
    return len(queries), _harness.percentiles(timings)


def explain(client, params):
    """EXPLAIN ANALYZE the statements of one directory request that list or count the members_user rows."""
    queries = []

    def capture(execute, sql, params_, many, context):
        queries.append((sql, params_))
        return execute(sql, params_, many, context)

    with connection.execute_wrapper(capture):
        client.get(DIRECTORY, params)
    for sql, sql_params in queries:
        if 'FROM "members_user"' not in sql or not ("COUNT(" in sql or "ORDER BY" in sql):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, sql_params)
            print("\n".join("    " + row[0] for row in cursor.fetchall()))


def viewer():
    """A listed member with a verified address: the directory is for members."""
    user = User.objects.filter(email="bench-viewer@bench.example").first()
    if user is None:
        user = User.objects.create_user(email="bench-viewer@bench.example", full_name="Viewer", country="US")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        membership_type = MembershipType.objects.get(slug="full")
        Term.objects.create(
            membership=Membership.objects.create(user=user),
            membership_type=membership_type,
            start=society_today(),
            end=society_today() + datetime.timedelta(days=300),
        )
    return user


def main():
    target = int(ARGS[0]) if ARGS else 500_000
    call_command("migrate", verbosity=0)
    existing = Membership.objects.count()
    if existing >= target:
        print(f"reusing {existing} memberships")
    else:
        seconds = _population.generate(target - existing)
        print(f"generated {target - existing} memberships (users, terms, orders) in {seconds:.1f} s")
    client = Client(SERVER_NAME="localhost")
    client.force_login(viewer())
    listed = User.objects.in_directory().count()
    print(f"{Membership.objects.count()} memberships, {listed} listed in the directory; {REQUESTS} requests each")
    print(f"{'page':<36}{'queries':>8}{'p50 ms':>10}{'p95 ms':>10}")
    pages = [
        ("/robots.txt (cheapest view)", "/robots.txt", {}),
        ("directory, first page", DIRECTORY, {}),
        ("directory, country=DE", DIRECTORY, {"country": "DE"}),
        ("directory, search 'müller'", DIRECTORY, {"q": "müller"}),
        ("directory, search 'nguyen' (no accent)", DIRECTORY, {"q": "nguyen"}),
        ("directory, search 'zoë tanaka'", DIRECTORY, {"q": "zoë tanaka"}),
        ("directory, search 'institute 42'", DIRECTORY, {"q": "institute 42"}),
        ("directory, search 'müller' page 3", DIRECTORY, {"q": "müller", "page": "3"}),
    ]
    for label, url, params in pages:
        queries, figures = measure(client, url, params)
        print(f"{label:<36}{queries:>8}{figures['p50_ms']:>10.1f}{figures['p95_ms']:>10.1f}", flush=True)
    if "--explain" in sys.argv:
        for label, params in [
            ("first page", {}),
            ("search 'müller'", {"q": "müller"}),
            ("search 'nguyen'", {"q": "nguyen"}),
        ]:
            print(f"plans of {label}:")
            explain(client, params)


if __name__ == "__main__":
    try:
        main()
    finally:
        if not KEEP:
            drop_database()
