"""Background exports at scale: the worker's service writing 500,000 memberships to a CSV file.

Usage: python bench/exports.py [memberships]
Builds a throw-away database (<DATABASE_URL name>_exports_bench) with `memberships` members (default 500,000)
whose terms end across two years, runs the export service the Celery task calls (the membership changelist
rebuilt from its query string, read with a server-side cursor in chunks, written through csv.writer to the
exports storage in a temporary folder) for the whole list and for one filter, and prints rows, seconds and
rows per second. Tasks and emails go to an in-memory broker. The bench database is dropped at the end.
"""

import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "society.settings.local")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-key-bench-only-key-bench-only-key-0123456789")
os.environ["LOG_LEVEL"] = "ERROR"
exports_root = tempfile.TemporaryDirectory(prefix="exports-bench-")
os.environ["EXPORTS_ROOT"] = exports_root.name

from _harness import throwaway_database  # noqa: E402

drop_database = throwaway_database("exports_bench")

import django  # noqa: E402

django.setup()

from django.core.files.storage import storages  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django_countries import countries  # noqa: E402

from members.country_bands import band_for  # noqa: E402
from members.models import CountryBand, Membership, MembershipType, Term, User  # noqa: E402
from members.models.memberships import society_today  # noqa: E402
from society.models import Export, ExportStatus  # noqa: E402
from society.services.exports import export_run  # noqa: E402
from tests.workers import current_celery_app, make_test_app  # noqa: E402

TARGET_SECONDS = 30


def copy_rows(model, template_pk: int, *, replace: dict[str, str], source: str, count_sql: str = "") -> None:
    """INSERT ... SELECT: one row per row of `source`, every column copied from the template row except those
    in `replace` (SQL expressions over `s`, the source row). Set-based, so 500,000 rows take seconds."""
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    select = ", ".join(replace.get(column, f't."{column}"') for column in columns)
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({names}) SELECT {select} FROM "{table}" t, {source} WHERE t."id" = %s',
            [template_pk],
        )


def populate(target: int) -> None:
    CountryBand.objects.bulk_create(
        [CountryBand(country=code, band=band_for(code)) for code, _ in countries], ignore_conflicts=True
    )
    membership_type = MembershipType.objects.create(slug="full", name="Full")
    today = society_today()
    started = time.perf_counter()
    template_user = User.objects.create(email="template@bench-exports.example", full_name="Template", country="US")
    # The template rows stay (one membership more): terms are history and cannot be deleted.
    template_membership = Membership.objects.create(user=template_user)
    template_term = Term.objects.create(
        membership=template_membership,
        membership_type=membership_type,
        start=today - datetime.timedelta(days=364),
        end=today,
    )
    codes = ", ".join(f"'{code}'" for code, _ in countries)
    day = today.isoformat()
    with transaction.atomic(), connection.cursor() as cursor:
        # Triggers off for the bulk load (the bench database's own session, superuser): the per-row trigger that
        # keeps current_end would triple the load time; current_end is set from the terms below instead.
        cursor.execute("SET LOCAL session_replication_role = replica")
        copy_rows(
            User,
            template_user.pk,
            source=f"generate_series(1, {target}) AS s(n)",
            replace={
                "email": "'member' || lpad(s.n::text, 7, '0') || '@bench-exports.example'",
                "full_name": "'Bench Member ' || s.n",
                # A fixed pseudo-random country per member, from the full list.
                "country": f"(ARRAY[{codes}])[1 + (s.n::bigint * 7919) %% {len(countries)}]",
            },
        )
        copy_rows(
            Membership,
            template_membership.pk,
            source="(SELECT id FROM members_user WHERE email LIKE 'member%%@bench-exports.example') s",
            replace={"user_id": "s.id", "current_end": "NULL"},
        )
        # Term ends spread over 400 days back to 365 ahead: every status appears.
        copy_rows(
            Term,
            template_term.pk,
            source=f"(SELECT id FROM members_membership WHERE id <> {template_membership.pk}) s",
            replace={
                "membership_id": "s.id",
                "end": f"('{day}'::date + ((s.id * 37) %% 766 - 400)::int)",
                "start": f"('{day}'::date + ((s.id * 37) %% 766 - 400)::int - 364)",
            },
        )
        cursor.execute(
            "UPDATE members_membership m SET current_end = t.end FROM members_term t WHERE t.membership_id = m.id"
        )
        cursor.execute("ANALYZE")
    print(f"populated {Membership.objects.count():,} memberships in {time.perf_counter() - started:.0f} s", flush=True)


def timed_export(staff, label: str, query: str) -> float:
    export = Export.objects.create(source="members.membership", query=query, title=label, requested_by=staff)
    started, cpu_started = time.perf_counter(), time.process_time()
    export_run(export_id=export.pk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE, export.error
    size = storages["exports"].size(export.file.name)
    print(
        f"{label:<38}{export.rows_done:>10,} rows{seconds:>8.1f} s{export.rows_done / seconds:>10,.0f} rows/s"
        f"{size / 1e6:>8.1f} MB{cpu:>8.1f} s CPU here",
        flush=True,
    )
    return seconds


def main():
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    try:
        call_command("migrate", verbosity=0)
        populate(target)
        staff = User.objects.create_superuser(
            email="bench-staff@bench-exports.example", password=None, full_name="Bench Staff", country="US"
        )
        with current_celery_app(make_test_app("memory://", "exports-bench")):
            whole = timed_export(staff, "export, whole membership list", "")
            timed_export(staff, "export, status=expiring", "status=expiring")
            timed_export(staff, "export, country=IN, newest end first", "country=IN&o=-7")
        verdict = "within" if whole <= TARGET_SECONDS else "OVER"
        print(f"whole list: {whole:.1f} s for {target:,} rows, {verdict} the {TARGET_SECONDS} s target")
    finally:
        drop_database()
        exports_root.cleanup()


if __name__ == "__main__":
    main()
