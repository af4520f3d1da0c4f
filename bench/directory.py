"""Directory page: queries and latency with few and many listed members, and the search plan.

Usage: python bench/directory.py [--explain]   (--explain: EXPLAIN ANALYZE the directory queries at 10,000)
Builds its own members inside a transaction that is rolled back, so the database is left as it was.
"""

import datetime
import statistics
import sys
import time

import _harness

_harness.setup_django()


from allauth.account.models import EmailAddress  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from members.models import Membership, MembershipType, Term, User  # noqa: E402
from members.models.memberships import society_today  # noqa: E402

NAMES = ["Nguyễn Thị Minh Khai", "Jürgen Müller", "Σωκράτης Παπαδόπουλος", "山中 伸子", "Siobhán O'Brien-Løvås"]


class Rollback(Exception):
    pass


def add_members(start, count, membership_type):
    today = society_today()
    users = User.objects.bulk_create(
        User(
            email=f"bench{index}@bench.example",
            full_name=f"{NAMES[index % len(NAMES)]} {index}",
            country=["VN", "DE", "GR", "JP", "NO"][index % 5],
            institution=f"Institute {index % 97}",
            directory_visible=True,
        )
        for index in range(start, start + count)
    )
    memberships = Membership.objects.bulk_create(Membership(user=user) for user in users)
    Term.objects.bulk_create(
        Term(membership=m, membership_type=membership_type, start=today, end=today + datetime.timedelta(days=300))
        for m in memberships
    )


def explain(client, params):
    """EXPLAIN ANALYZE the statements of one directory request that read members_user (the list and its count)."""
    queries = []

    def capture(execute, sql, params_, many, context):
        queries.append((sql, params_))
        return execute(sql, params_, many, context)

    with connection.execute_wrapper(capture):
        client.get("/membership/directory/", params)
    for sql, sql_params in queries:
        if "members_user" not in sql or "members_membership" not in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + sql, sql_params)
            print("\n".join("    " + row[0] for row in cursor.fetchall()))


def measure(client, params, count=30):
    client.get("/membership/directory/", params)
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        response = client.get("/membership/directory/", params)
    assert response.status_code == 200, response.status_code
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        client.get("/membership/directory/", params)
        timings.append(time.perf_counter() - start)
    return len(queries), statistics.median(timings) * 1000


def main():
    try:
        with transaction.atomic():
            membership_type, _ = MembershipType.objects.get_or_create(slug="full", defaults={"name": "Full"})
            viewer = User.objects.create_user(email="bench-viewer@bench.example", full_name="Viewer", country="US")
            EmailAddress.objects.create(user=viewer, email=viewer.email, verified=True, primary=True)
            add_members(0, 1, membership_type)
            Term.objects.create(
                membership=Membership.objects.create(user=viewer),
                membership_type=membership_type,
                start=society_today(),
                end=society_today() + datetime.timedelta(days=300),
            )
            client = Client(SERVER_NAME="localhost")
            client.force_login(viewer)
            total = 1
            for target in (10, 1000, 10000):
                add_members(total, target - total, membership_type)
                total = target
                with connection.cursor() as cursor:
                    # Statistics as autovacuum would have them on a live database (bulk inserts leave none).
                    cursor.execute("ANALYZE members_user, members_membership, members_term")
                for label, params in [
                    ("list", {}),
                    ("search 'nguyen'", {"q": "nguyen"}),
                    ("country", {"country": "JP"}),
                ]:
                    queries, p50 = measure(client, params)
                    print(f"{target:>6} listed members, {label:<16} queries={queries:<3} p50={p50:6.1f} ms")
            if "--explain" in sys.argv:
                for label, params in [("list", {}), ("search 'nguyen'", {"q": "nguyen"})]:
                    print(f"plan at {total} listed members, {label}:")
                    explain(client, params)
            with connection.cursor() as cursor:
                cursor.execute("SET enable_seqscan = off")
                cursor.execute(
                    "EXPLAIN SELECT id FROM members_user WHERE society_unaccent(lower(full_name)) LIKE %s",
                    ["%nguyen%"],
                )
                plan = " / ".join(row[0].strip() for row in cursor.fetchall())
                print("search plan:", plan)
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()
