"""Time the staff views over 100,000 memberships: admin changelist, dashboard status counts, CSV export.

Usage: python bench/memberships.py [memberships]
Creates bench members (@bench-members.example) in the configured database until there are that many
(default 100,000; reused on later runs), then prints timings. Needs a migrated database.
"""

import datetime
import random
import statistics
import sys
import time

import _harness

_harness.setup_django()


from django.db import transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django_countries import countries  # noqa: E402

from members.country_bands import band_for  # noqa: E402
from members.models import CountryBand, Membership, MembershipType, Term, User  # noqa: E402
from members.models.memberships import society_today  # noqa: E402
from members.selectors import dashboard_figures  # noqa: E402

DOMAIN = "bench-members.example"
BATCH = 5000


def ensure_data(target: int) -> None:
    CountryBand.objects.bulk_create(
        [CountryBand(country=code, band=band_for(code)) for code, _ in countries], ignore_conflicts=True
    )
    membership_type, _ = MembershipType.objects.get_or_create(slug="full", defaults={"name": "Full"})
    existing = Membership.objects.count()
    codes = [code for code, _ in countries]
    rng = random.Random(1)
    today = society_today()
    start_index = User.objects.filter(email__endswith=DOMAIN).count()
    while existing < target:
        size = min(BATCH, target - existing)
        with transaction.atomic():
            users = User.objects.bulk_create(
                [
                    User(
                        email=f"bench{start_index + n:06d}@{DOMAIN}",
                        full_name=f"Bench Member {start_index + n}",
                        country=rng.choice(codes),
                        password="!",
                    )
                    for n in range(size)
                ]
            )
            memberships = Membership.objects.bulk_create([Membership(user=user) for user in users])
            terms = []
            for membership in memberships:
                end = today + datetime.timedelta(days=rng.randint(-400, 365))
                terms.append(
                    Term(
                        membership=membership,
                        membership_type=membership_type,
                        start=end - datetime.timedelta(days=364),
                        end=end,
                    )
                )
            Term.objects.bulk_create(terms)
        start_index += size
        existing += size
        print(f"  created {existing} memberships", flush=True)


def timed(label, func, repeat=5):
    func()  # warm up
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        timings.append(time.perf_counter() - start)
    print(f"{label:<44}{statistics.median(timings) * 1000:>10.0f} ms median{min(timings) * 1000:>10.0f} ms best")


def main():
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    ensure_data(target)
    total = Membership.objects.count()
    admin_user = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        email=f"bench-admin@{DOMAIN}", password=None, full_name="Bench Admin", country="US"
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin_user)
    print(f"{total} memberships")

    def changelist(query=""):
        response = client.get(f"/admin/members/membership/{query}")
        assert response.status_code == 200, response.status_code

    def status_counts():
        return dict(Membership.objects.with_status().order_by().values_list("status").annotate(n=Count("id")))

    def export():
        # Above EXPORT_STREAM_MAX_ROWS the export goes to a worker (bench/exports.py times that); this times
        # the streamed response itself.
        with override_settings(EXPORT_STREAM_MAX_ROWS=total + 1):
            response = client.get("/admin/members/membership/export/")
        size = sum(len(chunk) for chunk in response.streaming_content)
        assert size > total * 20

    timed("admin changelist, first page (50 rows)", changelist)
    timed("admin changelist, status=expiring", lambda: changelist("?status=expiring"))
    timed("admin changelist, search by email", lambda: changelist("?q=bench012345"))
    timed("dashboard status counts (one query)", status_counts)
    timed("dashboard, all figures", dashboard_figures, repeat=3)
    timed(f"CSV export, all {total} rows (streamed)", export, repeat=2)
    print("status counts:", status_counts())


if __name__ == "__main__":
    main()
