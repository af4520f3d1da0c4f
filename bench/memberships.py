"""Time the staff membership pages over 500,000 memberships: the admin changelist (first page, every filter,
search by email, whole email, name and order number), the orders changelist (search, date drill-down), the
payments and users changelists, beside /robots.txt, the cheapest view, in the same run.

Usage: python bench/memberships.py [memberships] [--reuse] [--keep] [--export]
Writes the population (default 500,000, bench/_population.py) into a throwaway database
`<DATABASE_URL name>_population`, shared with bench/directory.py, and prints how long that took. --reuse keeps and reuses that database when it already holds the population (and --keep
leaves it there at the end), so a second measuring run costs no generation. --export also times the CSV export.
"SQL ms" is what Postgres reports (EXPLAIN ANALYZE, planning and execution) for one request's queries: on a
busy shared machine the latencies move with the load, that column much less.
"""

import os
import sys
import time

import _harness

ARGS = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
REUSE, KEEP = "--reuse" in sys.argv, "--keep" in sys.argv or "--reuse" in sys.argv
drop_database = _harness.throwaway_database("population", reuse=REUSE)
_harness.setup_django()

import _population  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from members.models import Membership, User  # noqa: E402
from members.models.memberships import society_today  # noqa: E402
from members.selectors import dashboard_figures  # noqa: E402
from members.services.retention import term_facts_rebuild  # noqa: E402
from tests.clients import Client  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", 20))


def measure(client, url):
    """p50/p95 of REQUESTS requests after one warm-up, the number of queries one request runs, and the summed
    execution time Postgres reports for them (EXPLAIN ANALYZE: the database's share, whatever the load)."""
    client.get(url)
    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, params, *args: queries.append((sql, params)) or execute(sql, params, *args)
    ):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        client.get(url)
        timings.append(time.perf_counter() - start)
    return len(queries), _harness.percentiles(timings), database_ms(queries)


def database_ms(queries) -> float:
    """Postgres's own execution time of the page's SELECTs (the EXPLAINs the estimated count runs included)."""
    total = 0.0
    with connection.cursor() as cursor:
        for sql, params in queries:
            if sql.lstrip().startswith(("SELECT", "(SELECT", "WITH")):
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                plan = cursor.fetchone()[0][0]
                total += plan["Planning Time"] + plan["Execution Time"]
    return total


def timed(label, func, repeat=3):
    func()  # warm up
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        timings.append(time.perf_counter() - start)
    print(f"{label:<44}{_harness.percentiles(timings)['p50_ms']:>10.0f} ms median")


def main():
    target = int(ARGS[0]) if ARGS else 500_000
    call_command("migrate", verbosity=0)
    existing = Membership.objects.count()
    if existing >= target:
        print(f"reusing {existing} memberships")
    else:
        seconds = _population.generate(target - existing)
        print(f"generated {target - existing} memberships (users, terms, orders) in {seconds:.1f} s")
        # Written with triggers off: the dashboard's facts and counts are built once from the population.
        started = time.perf_counter()
        term_facts_rebuild()
        print(f"retention facts and counts rebuilt in {time.perf_counter() - started:.1f} s")
    total = Membership.objects.count()
    admin_user = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        email="bench-admin@bench.example", password=None, full_name="Bench Admin", country="US"
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin_user, mfa=True)  # staff powers need a passed second factor
    common_country = User.objects.values("country").annotate(n=Count("id")).order_by("-n")[0]["country"]
    changelist = "/admin/members/membership/"
    year = society_today().year
    pages = [
        ("/robots.txt (cheapest view)", "/robots.txt"),
        ("memberships, first page", changelist),
        ("memberships, status=active", changelist + "?status=active"),
        ("memberships, status=expiring", changelist + "?status=expiring"),
        ("memberships, status=grace", changelist + "?status=grace"),
        ("memberships, status=lapsed", changelist + "?status=lapsed"),
        ("memberships, status=pending", changelist + "?status=pending"),
        ("memberships, status=cancelled", changelist + "?status=cancelled"),
        ("memberships, type=student", changelist + "?type=student"),
        ("memberships, band=low", changelist + "?band=low"),
        (f"memberships, country={common_country}", changelist + f"?country={common_country}"),
        ("memberships, country=IS (rare)", changelist + "?country=IS"),
        ("memberships, type=retired", changelist + "?type=retired"),
        ("memberships, ends_within=30", changelist + "?ends_within=30"),
        ("memberships, at_risk=30", changelist + "?at_risk=30"),
        (f"memberships, joined={year - 1}", changelist + f"?joined={year - 1}"),
        ("memberships, search email bench012345", changelist + "?q=bench012345"),
        ("memberships, search whole email", changelist + f"?q=bench012345%40{_population.DOMAIN}"),
        ("memberships, search name 'Müller'", changelist + "?q=M%C3%BCller"),
        ("memberships, search name 'Zoë Tanaka'", changelist + "?q=Zo%C3%AB+Tanaka"),
        ("memberships, search order B-0012345", changelist + "?q=B-0012345"),
        ("orders, first page", "/admin/members/order/"),
        ("orders, status=paid", "/admin/members/order/?status__exact=paid"),
        ("orders, search B-0012345", "/admin/members/order/?q=B-0012345"),
        ("orders, search name 'Müller'", "/admin/members/order/?q=M%C3%BCller"),
        (f"orders, created in {year}", f"/admin/members/order/?created_at__year={year}"),
        (f"orders, created in {year}-03", f"/admin/members/order/?created_at__year={year}&created_at__month=3"),
        ("payments, first page", "/admin/members/payment/"),
        (f"payments, received in {year}", f"/admin/members/payment/?received_on__year={year}"),
        ("payments, search B-0012345", "/admin/members/payment/?q=B-0012345"),
        ("users, first page", "/admin/members/user/"),
        ("users, search bench012345", "/admin/members/user/?q=bench012345"),
        ("outbox emails, first page", "/admin/society/outgoingemail/"),
    ]
    print(f"{total} memberships; {REQUESTS} requests per page through the test client")
    print(f"{'page':<44}{'queries':>8}{'p50 ms':>10}{'p95 ms':>10}{'SQL ms':>10}")
    for label, url in pages:
        queries, figures, sql_ms = measure(client, url)
        print(f"{label:<44}{queries:>8}{figures['p50_ms']:>10.1f}{figures['p95_ms']:>10.1f}{sql_ms:>10.1f}", flush=True)

    def status_counts():
        return dict(Membership.objects.with_status().order_by().values_list("status").annotate(n=Count("id")))

    timed("dashboard status counts (one query)", status_counts)
    timed("dashboard, all figures", dashboard_figures)
    if "--export" in sys.argv:

        def export():
            response = client.get("/admin/members/membership/export/")
            assert sum(len(chunk) for chunk in response.streaming_content) > total * 20

        timed(f"CSV export, all {total} rows (streamed)", export, repeat=1)
    print("status counts:", status_counts())


if __name__ == "__main__":
    try:
        main()
    finally:
        if not KEEP:
            drop_database()
