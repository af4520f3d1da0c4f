"""The Retention page: figures against a population whose answers were worked out by hand, each filter, empty
data, junk input, caching, constant query counts and the source of new memberships."""

import datetime

import psycopg2
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import IncomeBand, Membership, MembershipSource, Order, OrderStatus, Term
from members.selectors.retention import RetentionFilter, retention_figures
from members.services.imports import import_apply, import_read
from members.services.payments import office_order_create, order_create, order_mark_paid
from members.tasks import warm_staff_figures
from tests.factories import (
    CountryBandFactory,
    MembershipFactory,
    MembershipTypeFactory,
    OrderFactory,
    StaffFactory,
    TermFactory,
    UserFactory,
    price_matrix,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 5, 12, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 12, 5)
PAGE = "/admin/members/membership/retention/"
PERIOD = RetentionFilter(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31))


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def member(*terms, country="DE", source=MembershipSource.ONLINE, type_slug="full", cancelled=False, last_login=None):
    """A membership with the given (start, end[, voided]) terms, end None for lifetime."""
    user = UserFactory(country=country, last_login=last_login)
    membership = MembershipFactory(
        user=user, source=source, cancelled_at=NOW if cancelled else None, cancel_reason="moved" if cancelled else ""
    )
    membership_type = MembershipTypeFactory(name=type_slug.title(), slug=type_slug)
    for start, end, *voided in terms:
        TermFactory(
            membership=membership,
            membership_type=membership_type,
            start=d(start),
            end=d(end) if end else None,
            voided_at=NOW if voided else None,
            void_reason="refunded" if voided else "",
        )
    return membership


@pytest.fixture
def population(db):
    """Every member's fate in the period 2026-01..2026-12 (today 2026-12-05, grace 30 days) is written beside it."""
    CountryBandFactory(country="DE", band=IncomeBand.HIGH)
    CountryBandFactory(country="KE", band=IncomeBand.LOWER_MIDDLE)
    with time_machine.travel(NOW, tick=False):
        return {
            # Ended 2026-02, renewed at once; first term. Its renewal ends 2027-02-28: at risk (never signed in).
            "A": member(("2025-03-01", "2026-02-28"), ("2026-03-01", "2027-02-28")),
            "B": member(("2025-04-01", "2026-03-31")),  # ended 2026-03, lapsed; first term
            # Ended 2026-03 and came back two months later, after the grace period: not a renewal.
            "C": member(("2025-04-01", "2026-03-31"), ("2026-06-01", "2027-05-31")),
            # Joined 2024: first term ended 2025-04 (renewed, a year earlier); second ended 2026-04, renewed.
            "D": member(("2024-05-01", "2025-04-30"), ("2025-05-01", "2026-04-30"), ("2026-05-01", "2027-04-30")),
            "E": member(("2025-11-21", "2026-11-20")),  # ended 15 days ago: still in grace, undecided; first term
            # Ended 2026-05; the renewal was refunded (voided): lapsed. First term.
            "F": member(("2025-06-01", "2026-05-31"), ("2026-06-01", "2027-05-31", "voided")),
            "G": member(("2020-01-01", None)),  # lifetime: never ends
            "H": member(("2024-07-01", "2025-06-30")),  # ended 2025-06, lapsed (a year earlier); first term
            # Kenya, Student: ended 2026-07, renewed; first term.
            "I": member(("2025-08-01", "2026-07-31"), ("2026-08-01", "2027-07-31"), country="KE", type_slug="student"),
            # New in 2026, one per source. K signed in after joining: not at risk.
            "J": member(("2026-10-01", "2027-09-30"), source=MembershipSource.OFFICE),
            "K": member(("2026-02-01", "2027-01-31"), source=MembershipSource.IMPORT, last_login=NOW),
            "L": member(("2026-09-15", "2027-09-14")),
            # Two-year terms from 2025, ending within 90 days: M has a pending order, N signed in before
            # its term was written (at risk), O is cancelled.
            "M": member(("2025-01-16", "2027-01-15")),
            "N": member(("2025-01-11", "2027-01-10"), last_login=NOW - datetime.timedelta(days=1)),
            "O": member(("2025-01-21", "2027-01-20"), cancelled=True),
        }


@pytest.fixture
def pending_order(population):
    OrderFactory(membership=population["M"], status=OrderStatus.PENDING)


def figures(**filters):
    return retention_figures(RetentionFilter(start=PERIOD.start, end=PERIOD.end, **filters), today=TODAY)


def test_renewal_rates_match_the_hand_worked_population(population, pending_order):
    renewal = figures()["renewal"]
    # Ended in 2026: A, B, C, D's second, E, F, I. Renewed: A, D, I. E is in grace.
    assert renewal["all"] == {"ended": 7, "renewed": 3, "undecided": 1, "decided": 6, "rate": 50.0}
    # First terms: A, B, C, E, F, I; renewed A and I.
    assert renewal["first"] == {"ended": 6, "renewed": 2, "undecided": 1, "decided": 5, "rate": 40.0}
    # 2025: D's first (renewed) and H (lapsed), both first terms.
    assert renewal["prior"] == {"ended": 2, "renewed": 1, "undecided": 0, "decided": 2, "rate": 50.0}
    assert renewal["prior_first"] == renewal["prior"]
    by_month = {month["month"]: month for month in renewal["months"]}
    assert len(by_month) == 12
    assert by_month[d("2026-03-01")]["all"] == {"ended": 2, "renewed": 0, "undecided": 0, "decided": 2, "rate": 0.0}
    assert by_month[d("2026-04-01")]["all"]["rate"] == 100.0
    assert by_month[d("2026-04-01")]["prior"]["rate"] == 100.0  # D's first term, April 2025
    assert by_month[d("2026-06-01")]["prior"]["rate"] == 0.0  # H, June 2025
    assert by_month[d("2026-11-01")]["all"]["rate"] is None  # only E, undecided


def test_renewal_rate_equals_a_plain_sql_count(population):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM members_term n WHERE n.membership_id = t.membership_id
                       AND n.voided_at IS NULL AND n.start BETWEEN t."end" + 1 AND t."end" + 30)),
                   COUNT(*) FILTER (WHERE t."end" < %s)
            FROM members_term t
            WHERE t.voided_at IS NULL AND t."end" BETWEEN '2026-01-01' AND %s
            """,
            [TODAY - datetime.timedelta(days=30), TODAY - datetime.timedelta(days=1)],
        )
        renewed, ended_before_grace = cursor.fetchone()
    renewal = figures()["renewal"]["all"]
    assert renewal["renewed"] == renewed
    # Decided: renewed, or past the grace period (A, D and I are both).
    assert renewal["decided"] == ended_before_grace


def test_cohorts_count_members_still_covered_on_each_anniversary(population):
    cohorts = {row["year"]: row for row in figures()["cohorts"]}
    assert sorted(cohorts) == [2020, 2024, 2025, 2026]
    lifetime = cohorts[2020]
    assert [(cell["due"], cell["kept"]) for cell in lifetime["cells"]] == [(1, 1)] * 4
    # D renewed twice, H lapsed after one year; three and five years have not come yet.
    assert [(cell["due"], cell["kept"], cell["rate"]) for cell in cohorts[2024]["cells"]] == [
        (2, 1, 50.0),
        (2, 1, 50.0),
        (0, 0, None),
        (0, 0, None),
    ]
    # Joined 2025: A, B, C, E, F, I, M, N, O. A year on, A and I had renewed and M, N, O were in a 2-year term.
    assert (cohorts[2025]["members"], cohorts[2025]["cells"][0]["due"], cohorts[2025]["cells"][0]["kept"]) == (9, 9, 5)
    assert (cohorts[2026]["members"], cohorts[2026]["cells"][0]["due"]) == (3, 0)


def test_attrition_by_band_country_and_type_counts_decided_terms_only(population):
    attrition = figures()["attrition"]
    band = {row["key"]: (row["decided"], row["lapsed"], row["rate"]) for row in attrition["band"]}
    assert band == {"high": (5, 3, 60.0), "lower_middle": (1, 0, 0.0)}
    assert {row["key"]: row["lapsed"] for row in attrition["country"]} == {"DE": 3, "KE": 0}
    assert {row["key"]: (row["decided"], row["lapsed"]) for row in attrition["type"]} == {
        "full": (5, 3),
        "student": (1, 0),
    }


def test_new_members_by_source_and_members_at_risk(population, pending_order):
    result = figures()
    assert result["new_members"] == {"online": 1, "office": 1, "import": 1}
    # A (never signed in) and N (signed in before its term); K signed in, M has a pending order, O cancelled.
    assert result["at_risk"] == 2
    assert figures(window_days=40)["at_risk"] == 1  # N ends 2027-01-10, A not before 2027-02-28


@pytest.mark.parametrize(
    ("filters", "rate", "ended", "at_risk"),
    [
        ({"membership_type": "student"}, 100.0, 1, 0),
        ({"country": "KE"}, 100.0, 1, 0),
        ({"band": "lower_middle"}, 100.0, 1, 0),
        ({"band": "high"}, 40.0, 6, 2),
        ({"join_year": 2024}, 100.0, 1, 0),
        ({"join_year": 2025}, 40.0, 6, 2),
        ({"country": "FR"}, None, 0, 0),
    ],
)
def test_each_filter_narrows_every_panel(population, pending_order, filters, rate, ended, at_risk):
    result = figures(**filters)
    assert (result["renewal"]["all"]["rate"], result["renewal"]["all"]["ended"], result["at_risk"]) == (
        rate,
        ended,
        at_risk,
    )


def test_join_year_filter_keeps_only_that_cohort(population):
    result = figures(join_year=2024)
    assert [row["year"] for row in result["cohorts"]] == [2024]
    assert result["renewal"]["prior"] == {"ended": 2, "renewed": 1, "undecided": 0, "decided": 2, "rate": 50.0}
    assert result["new_members"] == {}


def test_no_members_at_all_gives_empty_figures_and_a_page(admin_client):
    result = figures()
    assert result["renewal"]["all"]["rate"] is None
    assert (result["cohorts"], result["new_members"], result["at_risk"]) == ([], {}, 0)
    with time_machine.travel(NOW, tick=False):
        page = admin_client.get(PAGE)
    assert page.status_code == 200
    assert "No member joined in these years." in page.content.decode()


@time_machine.travel(NOW, tick=False)
def test_page_shows_accessible_charts_tables_and_the_at_risk_link(admin_client, population, pending_order):
    page = admin_client.get(PAGE + "?band=high").content.decode()
    for chart in ("renewal-chart", "first-year-chart", "attrition-chart", "sources-chart"):
        assert f'aria-labelledby="{chart}-title" aria-describedby="{chart}-desc"' in page
        assert f'<title id="{chart}-title">' in page
        assert f'<desc id="{chart}-desc">' in page
    assert 'role="img"' in page
    assert "<script" not in page.split("<main", 1)[-1].split("</main>")[0]
    assert ' style="' not in page  # the CSP allows no inline styles
    assert "/admin/members/membership/?at_risk=90&amp;band=high" in page
    assert "/admin/members/membership/retention/renewal.csv?band=high" in page


@time_machine.travel(NOW, tick=False)
def test_at_risk_link_lists_the_same_members_as_the_count(admin_client, population, pending_order):
    page = admin_client.get("/admin/members/membership/?at_risk=90").content.decode()
    emails = {key: population[key].user.email for key in "AKMNO"}
    assert emails["A"] in page
    assert emails["N"] in page
    assert not any(emails[key] in page for key in "KMO")
    joined = admin_client.get("/admin/members/membership/?joined=2024").content.decode()
    assert population["D"].user.email in joined
    assert population["A"].user.email not in joined


@time_machine.travel(NOW, tick=False)
def test_csv_downloads_have_the_figures_and_are_formula_safe(admin_client, population):
    MembershipTypeFactory(name="=HYPERLINK(1)", slug="evil")
    member(("2025-02-01", "2026-01-31"), type_slug="evil")
    response = admin_client.get("/admin/members/membership/retention/attrition.csv")
    text = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "income band,High income,6,4,66.7" in text
    assert "'=HYPERLINK(1)" in text
    renewal = b"".join(admin_client.get("/admin/members/membership/retention/renewal.csv").streaming_content)
    assert b"2026-03,2,0,0,0.0" in renewal
    cohorts = b"".join(admin_client.get("/admin/members/membership/retention/cohorts.csv").streaming_content)
    assert b"2024,2,2,1,50.0,2,1,50.0,0,0,,0,0," in cohorts
    sources = b"".join(admin_client.get("/admin/members/membership/retention/new-members.csv").streaming_content)
    assert b"Created by the office,1" in sources
    assert admin_client.get("/admin/members/membership/retention/nothing.csv").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=junk", "Enter a valid date."),
        ("start=2026-05&end=2025-01", "The period must end after it starts."),
        ("start=1990-01&end=2026-12", "Choose a period of at most 10 years."),
        ("type=platinum", "Select a valid choice."),
        ("band=" + "x" * 5000, "Select a valid choice."),
        ("join_year=99999999999999999999999", "Ensure this value is less than or equal to 2100."),
        ("window=-3", "Ensure this value is greater than or equal to 1."),
        ("country=ZZ", "Select a valid choice."),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_junk_filters_get_a_clear_message_not_a_500(admin_client, population, query, message):
    response = admin_client.get(f"{PAGE}?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    csv = admin_client.get(f"/admin/members/membership/retention/renewal.csv?{query}")
    assert (csv.status_code, csv["Location"]) == (302, f"{PAGE}?{query}")


@time_machine.travel(NOW, tick=False)
def test_nul_bytes_in_the_query_are_refused_with_a_page(admin_client):
    assert admin_client.get(PAGE + "?country=D%00E").status_code == 400


@time_machine.travel(NOW, tick=False)
def test_figures_are_cached_ten_minutes_and_the_refresh_button_recomputes(admin_client, population):
    first = admin_client.get(PAGE).content.decode()
    assert "Figures computed at" in first
    assert "Compute again now" in first
    member(("2026-02-01", "2027-01-31"), source=MembershipSource.OFFICE)  # a second new office member
    with CaptureQueriesContext(connection) as cached:
        again = admin_client.get(PAGE)
    assert again.context["figures"]["new_members"]["office"] == 1  # from the cache
    assert not any("members_term" in query["sql"] for query in cached.captured_queries)
    assert admin_client.post(PAGE).status_code == 302
    assert admin_client.get(PAGE).context["figures"]["new_members"]["office"] == 2
    with time_machine.travel(NOW + datetime.timedelta(minutes=11), tick=False):
        assert admin_client.get(PAGE).context["computed_at"] == NOW + datetime.timedelta(minutes=11)


@time_machine.travel(NOW, tick=False)
def test_dashboard_is_cached_and_refreshed_the_same_way(admin_client, population):
    before = admin_client.get("/admin/members/membership/dashboard/")
    assert "Compute again now" in before.content.decode()
    total = before.context["total"]
    member(("2026-02-01", "2027-01-31"))
    assert admin_client.get("/admin/members/membership/dashboard/").context["total"] == total
    assert admin_client.post("/admin/members/membership/dashboard/").status_code == 302
    assert admin_client.get("/admin/members/membership/dashboard/").context["total"] == total + 1


@time_machine.travel(NOW, tick=False)
def test_pages_work_with_redis_down(admin_client, population, settings):
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2, "RETRY_AFTER": 60},
        }
    }
    assert admin_client.get(PAGE).status_code == 200
    assert admin_client.get("/admin/members/membership/dashboard/").status_code == 200


def grow(count: int):
    types = ["full", "student"]
    for index in range(count):
        start = d("2024-01-01") + datetime.timedelta(days=17 * index)
        terms = [(start.isoformat(), (start + datetime.timedelta(days=364)).isoformat())]
        if index % 2:
            renewal = start + datetime.timedelta(days=365)
            terms.append((renewal.isoformat(), (renewal + datetime.timedelta(days=364)).isoformat()))
        member(*terms, country=["DE", "KE", "FR"][index % 3], type_slug=types[index % 2])


@time_machine.travel(NOW, tick=False)
def test_query_count_does_not_grow_with_the_number_of_members(admin_client, population):
    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.post(url).status_code == 302  # computes afresh
            assert admin_client.get(url).status_code == 200
        return len(captured.captured_queries)

    small = {url: queries(url) for url in (PAGE, "/admin/members/membership/dashboard/")}
    grow(40)
    assert {url: queries(url) for url in small} == small
    assert small[PAGE] <= 20


def test_members_and_anonymous_visitors_cannot_open_retention(client):
    assert client.get(PAGE).status_code == 302
    client.force_login(UserFactory())
    assert client.get(PAGE).status_code == 302
    assert client.get("/admin/members/membership/retention/renewal.csv").status_code == 302
    assert client.post(PAGE).status_code == 302


def test_staff_without_mfa_cannot_refresh_figures(client):
    client.force_login(StaffFactory(is_superuser=True, mfa=False), mfa=False)
    assert client.post(PAGE).status_code == 302


# --- Where new memberships come from ----------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_joining_online_and_renewing_keep_the_source_online():
    types = price_matrix("Full")
    user = UserFactory(country="DE")
    order_mark_paid(order=order_create(user=user, membership_type=types["Full"], provider="invoice"))
    assert Membership.objects.get(user=user).source == MembershipSource.ONLINE


@time_machine.travel(NOW, tick=False)
def test_office_join_is_office_and_a_later_online_renewal_does_not_change_it():
    types = price_matrix("Full")
    office = StaffFactory()
    order = office_order_create(
        by=office, email="desk@example.org", full_name="Desk Joiner", country="DE", membership_type=types["Full"]
    )
    membership = order.membership
    assert membership.source == MembershipSource.OFFICE
    order_mark_paid(order=order)
    with time_machine.travel(NOW + datetime.timedelta(days=300), tick=False):
        order_create(user=membership.user, membership_type=types["Full"], provider="invoice")
    membership.refresh_from_db()
    assert membership.source == MembershipSource.OFFICE
    assert Order.objects.filter(membership=membership).count() == 2


@time_machine.travel(NOW, tick=False)
def test_imported_members_are_marked_imported():
    price_matrix("Full")
    rows = import_read(
        "email,full name,country,institution,type,term end date,ORCID\nim@example.org,Im Ported,DE,X,Full,2027-03-31,\n"
    )
    import_apply(rows=rows)
    assert Membership.objects.get(user__email="im@example.org").source == MembershipSource.IMPORT
    assert Term.objects.filter(membership__user__email="im@example.org").count() == 1


@pytest.mark.parametrize("value", ["²", "abc", "0", "100000000000000000000", "-5"])
@time_machine.travel(NOW, tick=False)
def test_junk_at_risk_and_join_year_filters_in_the_changelist_never_fail(admin_client, population, value):
    for name in ("at_risk", "joined"):
        assert admin_client.get(f"/admin/members/membership/?{name}={value}").status_code == 200


@time_machine.travel(NOW, tick=False)
def test_the_periodic_job_fills_the_cache_so_staff_never_wait_for_the_default_pages(admin_client, population):
    warm_staff_figures()
    for url in (PAGE, "/admin/members/membership/dashboard/"):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        assert not any("members_term" in query["sql"] for query in captured.captured_queries), url


@time_machine.travel(NOW, tick=False)
def test_one_cached_dashboard_serves_every_language_with_its_own_country_names(client, population):
    client.force_login(StaffFactory(is_superuser=True))
    english = client.get("/admin/members/membership/dashboard/", headers={"accept-language": "en"})
    assert "Germany" in english.content.decode()
    client.force_login(StaffFactory(is_superuser=True, language="de"))
    german = client.get("/admin/members/membership/dashboard/", headers={"accept-language": "de"})
    assert "Deutschland" in german.content.decode()
    assert german.context["computed_at"] == english.context["computed_at"]


@time_machine.travel(NOW, tick=False)
def test_figures_that_take_too_long_give_a_message_not_an_error_page(admin_client, population, settings):
    # Another session holds the orders table, as a long migration or a bulk job would: the at-risk count waits.
    blocker = psycopg2.connect(**connection.get_connection_params())
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '5s'")  # without the page's own limit: an error, not a hang
    try:
        blocker.cursor().execute("LOCK TABLE members_order IN ACCESS EXCLUSIVE MODE")
        settings.RETENTION_STATEMENT_TIMEOUT_MS = 300
        response = admin_client.get(PAGE + "?country=DE")
        assert response.status_code == 503
        assert "These figures took too long to compute just now." in response.content.decode()
        csv = admin_client.get("/admin/members/membership/retention/renewal.csv?country=DE")
        assert (csv.status_code, csv["Location"]) == (302, f"{PAGE}?country=DE")
    finally:
        blocker.rollback()
        blocker.close()
    assert admin_client.get(PAGE + "?country=DE").status_code == 200  # nothing was cached meanwhile
