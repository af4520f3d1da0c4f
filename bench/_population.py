"""A large member population written by the database itself (INSERT ... SELECT over generate_series), for the
benches that need 500,000 memberships: Python-side bulk_create runs at ~5,000 rows a second, which is
minutes per 100,000; one statement per table runs the same rows in seconds.

Triggers and foreign-key checks are off while it writes (session_replication_role = replica), so the derived
columns the triggers would keep (Membership.current_end and lifetime, User.membership_end) are written directly,
from the same generated dates as the terms. Constraints that are not triggers (checks, the exclusion constraint, unique
indexes) still apply to every row.

Every row is a function of its number, so two runs build the same population:
- 1 % pending (no term yet), 1 % cancelled, 0.5 % lifetime; the rest one paid term ending between 400 days
  ago and 365 days ahead, each with its paid order (ordered up to a month before the term starts, so the
  orders span three calendar years as a real history does) and the card payment that paid it;
- types "full" (80 %), "student" (15 %), "retired" (5 %); countries skewed like a real society's;
- names from a few dozen given and family names in several scripts, so a name search matches hundreds of
  rows, and an email search for one number matches one.
"""

import time

from django.db import connection, transaction
from django_countries import countries

from members.country_bands import band_for
from members.models import CountryBand, MembershipType
from members.models.memberships import society_today

DOMAIN = "bench-members.example"
GIVEN = [
    "Amara", "Jürgen", "Siobhán", "Nguyễn Thị", "Sofía", "Olúwaseun", "Ingrid", "Rahul", "Mei", "Yusuf",
    "Zoë", "Kwame", "Björn", "Lucía", "Hiroshi", "Fatima", "Élodie", "Tomasz", "Ana", "Dmitri",
]  # fmt: skip
FAMILY = [
    "Okonkwo", "Müller", "O'Brien", "Khai", "García", "Adeyemi", "Løvås", "Sharma", "Chen", "Demir",
    "Papadopoulos", "Mensah", "Åberg", "Fernández", "Tanaka", "Haddad", "Lefèvre", "Kowalski", "Silva",
    "Ivanov", "Nakamura", "Rossi", "Novak", "Kim", "Andersen", "Dubois", "Costa", "Moreau", "Yilmaz", "Singh",
]  # fmt: skip
TYPES = [("full", "Full"), ("student", "Student"), ("retired", "Retired")]
# Offset of every generated id, so the rows never collide with the few a test or the bench itself creates.
FIRST_ID = 1_000_000


# Of the members whose term is current (about 47 %), this share is listed in the directory: about 100,000 of
# 500,000, the size bench/directory.py measures.
LISTED_SHARE = 0.43


# Indexes that back no constraint (those stay: they are what checks each row).
INDEXES = """
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename = ANY(%s)
      AND indexname NOT IN (SELECT conname FROM pg_constraint)
"""


def bulk_load(statements: list[str], params: dict, tables: tuple[str, ...], *, seed: float | None = None) -> None:
    """Run the population's INSERT ... SELECT statements as one load: triggers off (the statements write what the
    triggers would), and the indexes that back no constraint dropped first and built once afterwards, which is
    several times faster than growing them row by row (the trigram GIN indexes most of all); then the sequences
    past the new ids and statistics as autovacuum would have them on a live database."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        if seed is not None:
            cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(INDEXES, [list(tables)])
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for statement in statements:
            cursor.execute(statement, params)
        for _name, definition in indexes:
            cursor.execute(definition)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        cursor.execute("VACUUM ANALYZE " + ", ".join(tables))


def generate(count: int, *, listed_share: float = LISTED_SHARE) -> float:
    """Write `count` members with memberships (and terms and orders); returns the seconds it took.
    `listed_share` of the members whose term is current opt in to the directory."""
    started = time.perf_counter()
    CountryBand.objects.bulk_create(
        [CountryBand(country=code, band=band_for(code)) for code, _ in countries], ignore_conflicts=True
    )
    type_ids = [MembershipType.objects.get_or_create(slug=slug, defaults={"name": name})[0].pk for slug, name in TYPES]
    codes = [code for code, _ in countries]
    params = {
        "count": count,
        "first": FIRST_ID,
        "today": society_today(),
        "codes": codes,
        "given": GIVEN,
        "family": FAMILY,
        "types": type_ids,
        "domain": DOMAIN,
        "listed": listed_share,
    }
    bulk_load(STATEMENTS, params, TABLES)
    return time.perf_counter() - started


TABLES = ("members_user", "members_membership", "members_term", "members_order", "members_payment")
# One row per member with every random choice made once; the inserts below read it.
STATEMENTS = [
    """
    CREATE TEMPORARY TABLE bench_people ON COMMIT DROP AS
    SELECT n,
           %(first)s + n AS id,
           (hashtext('kind' || n)::bigint + 2147483648) %% 1000 AS kind,
           (hashtext('end' || n)::bigint + 2147483648) %% 766 - 400 AS end_offset,
           (hashtext('type' || n)::bigint + 2147483648) %% 100 AS type_roll,
           -- A few countries hold most members, as in a real society.
           floor(power(((hashtext('country' || n)::bigint + 2147483648) %% 100000) / 100000.0, 3)
                 * array_length(%(codes)s::text[], 1))::int + 1 AS country_index,
           (hashtext('listed' || n)::bigint + 2147483648) %% 10000 AS listed_roll,
           -- When the member ordered (and joined): up to a month before the term starts, at any time of day.
           (%(today)s::date + ((hashtext('end' || n)::bigint + 2147483648) %% 766 - 400)::int - 364)::timestamptz
               - make_interval(secs => (hashtext('ordered' || n)::bigint + 2147483648) %% (30 * 86400))
               AS ordered_at
    FROM generate_series(1, %(count)s) AS n
    """,
    """
    INSERT INTO members_user (id, password, is_superuser, email, full_name, preferred_name, country, institution,
        position, orcid, language, directory_visible, is_staff, is_active, date_joined, billing_address,
        billing_institution, billing_name, billing_tax_id, wants_announcements, membership_end)
    SELECT id, '!', false, 'bench' || lpad(n::text, 6, '0') || '@' || %(domain)s,
        (%(given)s::text[])[1 + n %% array_length(%(given)s::text[], 1)] || ' '
            || (%(family)s::text[])[1 + (n / 7) %% array_length(%(family)s::text[], 1)] || ' ' || n,
        '', (%(codes)s::text[])[country_index], 'Institute ' || (n %% 997), '', '', 'en',
        kind >= 25 AND end_offset >= 0 AND listed_roll < %(listed)s * 10000, false, true, ordered_at, '', '', '', '',
        true,
        -- What the trigger user_membership_end_from_membership would copy from the membership written below.
        CASE WHEN kind BETWEEN 20 AND 24 THEN DATE '9999-12-31' WHEN kind >= 25 THEN %(today)s::date + end_offset::int END
    FROM bench_people
    """,
    """
    INSERT INTO members_membership (id, user_id, created_at, cancelled_at, cancel_reason, current_end, lifetime,
        source)
    SELECT id, id, ordered_at,
        CASE WHEN kind BETWEEN 10 AND 19 THEN now() END,
        CASE WHEN kind BETWEEN 10 AND 19 THEN 'Bench cancellation' ELSE '' END,
        CASE WHEN kind >= 25 OR kind BETWEEN 10 AND 19 THEN (%(today)s::date + end_offset::int) END,
        kind BETWEEN 20 AND 24, 'online'
    FROM bench_people
    """,
    """
    INSERT INTO members_order (id, number, country, band, amount, currency, status, provider, refund_reason, note,
        needs_approval, applicant_statement, created_at, paid_at, membership_id, membership_type_id, price_reason,
        billing_address, billing_institution, billing_name, billing_tax_id, years)
    SELECT id, 'B-' || lpad(n::text, 7, '0'), (%(codes)s::text[])[country_index], 'high', 100, 'USD', 'paid',
        'stripe', '', '', false, '', ordered_at, ordered_at + interval '3 minutes', id,
        (%(types)s::bigint[])[CASE WHEN type_roll < 80 THEN 1 WHEN type_roll < 95 THEN 2 ELSE 3 END],
        '', '', '', '', '', 1
    FROM bench_people WHERE kind >= 10
    """,
    """
    INSERT INTO members_term (id, membership_id, membership_type_id, start, "end", created_at, void_reason, order_id)
    SELECT id, id, (%(types)s::bigint[])[CASE WHEN type_roll < 80 THEN 1 WHEN type_roll < 95 THEN 2 ELSE 3 END],
        %(today)s::date + end_offset::int - 364,
        CASE WHEN kind BETWEEN 20 AND 24 THEN NULL ELSE %(today)s::date + end_offset::int END,
        ordered_at + interval '3 minutes', '', id
    FROM bench_people WHERE kind >= 10
    """,
    # Each paid order's card payment, as order_mark_paid records it.
    """
    INSERT INTO members_payment (id, order_id, amount, currency, received_on, method, reference, note, review,
        recorded_at)
    SELECT id, id, 100, 'USD', (ordered_at + interval '3 minutes')::date, 'card_online', 'pi_bench' || n, '', '',
        ordered_at + interval '3 minutes'
    FROM bench_people WHERE kind >= 10
    """,
]
