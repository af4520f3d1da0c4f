"""Time the staff dashboard and the Retention page at 500,000 memberships, uncached and cached.

Usage: python bench/retention.py [memberships] [requests]
Creates a throwaway database `<DATABASE_URL name>_retention`, migrates it, fills it with INSERT ... SELECT
from generate_series (members joined over the last six years, each renewing a random number of one-year
terms; its own population, as the shared one of bench/_population.py has one term per member and no
renewals to measure), and drops it at the end. Prints p50/p95 over `requests` (default 20) requests through the test
client, beside the cheapest staff page (the admin index) in the same run.
"""

import functools
import os
import statistics
import sys
import time

import _harness

drop_database = _harness.throwaway_database("retention")
_harness.setup_django()

import _population  # noqa: E402
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_countries import countries  # noqa: E402

from members.country_bands import band_for  # noqa: E402
from members.models import CountryBand, MembershipType, User  # noqa: E402
from members.models.memberships import society_today  # noqa: E402
from members.selectors.dashboard import dashboard_figures  # noqa: E402
from members.selectors.retention import RetentionFilter, default_period, retention_figures  # noqa: E402
from members.services.retention import term_facts_rebuild  # noqa: E402
from tests.clients import Client  # noqa: E402

DOMAIN = "bench-retention.example"


# Generated ids start here, clear of the few rows migrations or the bench itself create.
FIRST_ID = 1_000_000
TABLES = ("members_user", "members_membership", "members_term")
STATEMENTS = [
    # Each member's draws, made once: joined over the last six years, then a random number of one-year terms
    # (at least one, at most one per year since joining), a third never signed in.
    """
    CREATE TEMPORARY TABLE bench_members ON COMMIT DROP AS
    SELECT n, %(first)s + n AS id, joined, 1 + floor(random() * (1 + (current_date - joined) / 365))::int AS terms,
        CASE WHEN n %% 3 = 0 THEN NULL ELSE now() - (random() * 400 || ' days')::interval END AS last_login
    FROM (SELECT n, current_date - (random() * 6 * 365)::int AS joined FROM generate_series(1, %(total)s) AS n) j
    """,
    """
    INSERT INTO members_user (id, password, is_superuser, email, full_name, preferred_name, country, institution,
        position, orcid, language, directory_visible, is_staff, is_active, date_joined, billing_address,
        billing_institution, billing_name, billing_tax_id, last_login, wants_announcements, membership_end)
    SELECT id, '!', false, 'm' || n || '@' || %(domain)s, 'Bench Member ' || n, '', (%(codes)s)[1 + n %% %(ncodes)s],
        '', '', '', 'en', false, false, true, now(), '', '', '', '', last_login, true,
        -- What the trigger user_membership_end_from_membership would copy from the membership written below.
        (joined + (terms || ' years')::interval - interval '1 day')::date
    FROM bench_members
    """,
    """
    INSERT INTO members_membership (id, user_id, created_at, cancel_reason, lifetime, source, current_end)
    SELECT id, id, now(), '', false, (ARRAY['online', 'online', 'online', 'office', 'import'])[1 + id %% 5],
        (joined + (terms || ' years')::interval - interval '1 day')::date
    FROM bench_members
    """,
    """
    INSERT INTO members_term (membership_id, membership_type_id, start, "end", created_at, void_reason)
    SELECT m.id, CASE WHEN m.id %% 4 = 0 THEN %(student)s ELSE %(full)s END,
        (m.joined + (k || ' years')::interval)::date,
        (m.joined + ((k + 1) || ' years')::interval - interval '1 day')::date,
        m.joined + (k || ' years')::interval, ''
    FROM bench_members m, generate_series(0, m.terms - 1) AS k
    """,
]


def populate(total: int) -> None:
    """One statement per table from a temporary table of the members' random draws, with the indexes that back
    no constraint dropped during the load and built once afterwards (growing the users' trigram GIN indexes
    row by row was most of the four minutes this took), and current_end written with each membership rather
    than by a second pass over all of them."""
    call_command("migrate", verbosity=0)
    CountryBand.objects.bulk_create(
        [CountryBand(country=code, band=band_for(code)) for code, _ in countries], ignore_conflicts=True
    )
    full = MembershipType.objects.get_or_create(slug="full", defaults={"name": "Full"})[0]
    student = MembershipType.objects.get_or_create(slug="student", defaults={"name": "Student"})[0]
    codes = [code for code, _ in countries][:120]
    params = {
        "domain": DOMAIN,
        "codes": codes,
        "ncodes": len(codes),
        "total": total,
        "student": student.pk,
        "full": full.pk,
        "first": FIRST_ID,
    }
    started = time.perf_counter()
    # Triggers off for the load (they would update the membership once per term): current_end is written directly,
    # as the triggers would have set it.
    _population.bulk_load(STATEMENTS, params, TABLES, seed=0.42)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM members_term")
        terms = cursor.fetchone()[0]
    print(f"{total} memberships, {terms} terms generated in {time.perf_counter() - started:.0f} s", flush=True)


PANELS = [  # which panel a statement computes, by a piece of its SQL
    ("SELECT category, days", "dashboard: statuses, ending soon, access by country"),
    ("AS total, COALESCE", "dashboard: renewal rate"),
    ("GROUPING(d.band)", "dashboard: dues by band and type"),
    ("FROM members_renewalcount r", "renewal + attrition (counts)"),
    ('FROM members_termfact f\n    WHERE f."end" >=', "renewal + attrition (terms)"),
    ("FROM members_cohortcount", "cohorts + new members (counts)"),
    ("UNION ALL SELECT f.joined", "cohorts + new members (terms)"),
    ("SELECT COUNT(*) AS members", "at risk"),
]


def panel_timings(label: str, compute) -> None:
    """Each statement of one uncached computation, timed in the database connection, and the total."""
    statements = []

    def timed_statement(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            name = next((panel for marker, panel in PANELS if marker in sql), " ".join(sql.split())[:40])
            statements.append((name, time.perf_counter() - started))

    started = time.perf_counter()
    with connection.execute_wrapper(timed_statement):
        compute()
    total = time.perf_counter() - started
    print(f"{label}: {total * 1000:.0f} ms in {len(statements)} statements", flush=True)
    for name, seconds in statements:
        if seconds >= 0.002:
            print(f"    {seconds * 1000:>7.1f} ms  {name}")


def figures(timings: list[float]) -> str:
    timings = sorted(timings)
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    return f"p50 {statistics.median(timings) * 1000:>7.0f} ms   p95 {p95 * 1000:>7.0f} ms"


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    try:
        populate(total)
        # The population was written with triggers off: the retention facts and counts are built once from it.
        started = time.perf_counter()
        term_facts_rebuild()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE members_termfact, members_renewalcount, members_cohortcount")
        print(f"retention facts and counts rebuilt in {time.perf_counter() - started:.0f} s", flush=True)
        today = society_today()
        start, end = default_period(today)
        country = User.objects.filter(email__endswith=DOMAIN).values_list("country", flat=True).first()
        for filters in [
            {},
            {"band": "high"},
            {"country": country},
            {"membership_type": "student"},
            {"join_year": today.year - 2},
        ]:
            chosen = RetentionFilter(start=start, end=end, **filters)
            panel_timings(
                f"retention {filters or 'unfiltered'}, uncached",
                functools.partial(retention_figures, chosen, today=today),
            )
        panel_timings("dashboard, uncached", lambda: dashboard_figures(today))
        staff = User.objects.create_superuser(
            email=f"staff@{DOMAIN}", password=None, full_name="Bench Staff", country="DE"
        )
        TOTP.activate(staff, generate_totp_secret())
        client = Client(SERVER_NAME="localhost")
        client.force_login(staff)

        def timed(method, url):
            started = time.perf_counter()
            response = getattr(client, method)(url)
            assert response.status_code in (200, 302), (url, response.status_code)
            return time.perf_counter() - started

        client.get("/admin/")  # warm up
        print(f"{'admin index (cheapest staff page)':<46}{figures([timed('get', '/admin/') for _ in range(requests)])}")
        for name, url in [
            ("dashboard", "/admin/members/membership/dashboard/"),
            ("retention", "/admin/members/membership/retention/"),
            ("retention, band=high", "/admin/members/membership/retention/?band=high"),
        ]:
            # The refresh button's POST computes the figures afresh; with the GET that shows them, the uncached cost.
            uncached = [timed("post", url) + timed("get", url) for _ in range(3)]
            cached = [timed("get", url) for _ in range(requests)]
            print(f"{name + ', uncached':<46}{figures(uncached)}")
            print(f"{name + ', cached':<46}{figures(cached)}")
    finally:
        if not os.environ.get("BENCH_KEEP_DATABASE"):  # kept to EXPLAIN the queries afterwards
            drop_database()


if __name__ == "__main__":
    main()
