import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Membership, MembershipStatus, Order, OrderStatus, Term
from members.services.payments import order_create, order_mark_paid
from tests.factories import StaffFactory, TermFactory, UserFactory, price_matrix

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 11, 25)
CHANGELIST = "/admin/members/membership/"


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def types(db):
    return price_matrix("Student", "Full")


def make_members(count, *, end_offset=200):
    for index in range(count):
        user = UserFactory()
        TermFactory(
            membership=Membership.objects.create(user=user), end=TODAY + datetime.timedelta(days=end_offset - index)
        )


@time_machine.travel(NOW, tick=False)
def test_changelist_runs_a_fixed_number_of_queries_for_any_page_size(admin_client, types):
    make_members(5)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(CHANGELIST).status_code == 200
    make_members(45)
    order_create(user=UserFactory(), membership_type=types["Full"], provider="invoice")
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(CHANGELIST)
    assert response.content.decode().count('class="action-select"') == 50
    assert len(many.captured_queries) == len(few.captured_queries)


@time_machine.travel(NOW, tick=False)
def test_filters_by_status_band_country_type_and_end_date(admin_client, types):
    active = UserFactory(country="DE", full_name="Ada Active")
    TermFactory(
        membership=Membership.objects.create(user=active),
        membership_type=types["Full"],
        end=TODAY + datetime.timedelta(days=200),
    )
    expiring = UserFactory(country="IN", full_name="Ed Expiring")
    TermFactory(
        membership=Membership.objects.create(user=expiring),
        membership_type=types["Student"],
        end=TODAY + datetime.timedelta(days=20),
    )
    lapsed = UserFactory(country="UG", full_name="Lu Lapsed")
    TermFactory(membership=Membership.objects.create(user=lapsed), end=TODAY - datetime.timedelta(days=100))

    def names(query):
        page = admin_client.get(f"{CHANGELIST}?{query}").content.decode()
        return {name for name in ["Ada Active", "Ed Expiring", "Lu Lapsed"] if name in page}

    assert names("status=expiring") == {"Ed Expiring"}
    assert names("status=lapsed") == {"Lu Lapsed"}
    assert names("band=high") == {"Ada Active"}
    assert names("country=IN") == {"Ed Expiring"}
    assert names("type=student") == {"Ed Expiring"}
    assert names("ends_within=30") == {"Ed Expiring"}
    assert names("ends_within=90") == {"Ed Expiring"}
    assert names("q=ada") == {"Ada Active"}


@time_machine.travel(NOW, tick=False)
def test_search_by_order_number_and_orcid(admin_client, types):
    user = UserFactory(country="BR", full_name="Olga Order", orcid="0000-0002-1825-0097")
    order = order_create(user=user, membership_type=types["Full"], provider="invoice")
    UserFactory(full_name="Nobody Else")
    assert "Olga Order" in admin_client.get(f"{CHANGELIST}?q={order.number}").content.decode()
    assert "Olga Order" in admin_client.get(f"{CHANGELIST}?q=0000-0002-1825-0097").content.decode()


@time_machine.travel(NOW, tick=False)
def test_staff_mark_invoice_paid_from_the_order_admin(admin_client, types):
    order = order_create(user=UserFactory(country="DE"), membership_type=types["Full"], provider="invoice")
    data = {"action": "mark_paid", "_selected_action": [order.pk]}
    form = admin_client.post("/admin/members/order/", data)
    assert "Date received" in form.content.decode()
    assert Order.objects.get().status == OrderStatus.PENDING
    response = admin_client.post(
        "/admin/members/order/",
        {**data, "apply": "1", "received_on": "2026-11-25", "method": "bank_transfer", "reference": "TRF-1"},
        follow=True,
    )
    assert "1 invoice marked paid." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.term.end == datetime.date(2027, 11, 24)


@time_machine.travel(NOW, tick=False)
def test_mark_invoice_paid_action_on_memberships(admin_client, types):
    order = order_create(user=UserFactory(country="DE"), membership_type=types["Full"], provider="invoice")
    data = {"action": "mark_invoice_paid", "_selected_action": [order.membership_id]}
    form = admin_client.post(CHANGELIST, data).content.decode()
    assert order.number in form
    assert not Term.objects.exists()
    admin_client.post(CHANGELIST, {**data, "apply": "1", "received_on": "2026-11-20", "method": "cheque"})
    assert Term.objects.get().order == order
    assert Term.objects.get().start == datetime.date(2026, 11, 20)


@time_machine.travel(NOW, tick=False)
def test_comp_asks_for_a_reason_then_grants_a_term(admin_client, types):
    membership = Membership.objects.create(user=UserFactory(country="KE"))
    data = {"action": "comp_term", "_selected_action": [membership.pk]}
    form = admin_client.post(CHANGELIST, data)
    assert "Reason" in form.content.decode()
    assert not Term.objects.exists()
    admin_client.post(CHANGELIST, {**data, "apply": "1", "reason": "", "membership_type": types["Full"].pk})
    assert not Term.objects.exists()
    admin_client.post(CHANGELIST, {**data, "apply": "1", "reason": "Hardship", "membership_type": types["Full"].pk})
    order = Order.objects.get()
    assert (order.provider, order.amount, order.note, order.term.start) == ("comp", Decimal("0"), "Hardship", TODAY)


@time_machine.travel(NOW, tick=False)
def test_cancel_action_requires_a_reason(admin_client):
    make_members(1)
    membership = Membership.objects.get()
    data = {"action": "cancel_memberships", "_selected_action": [membership.pk], "apply": "1"}
    admin_client.post(CHANGELIST, {**data, "reason": ""})
    assert Membership.objects.with_status().get().status == MembershipStatus.ACTIVE
    admin_client.post(CHANGELIST, {**data, "reason": "Deceased"})
    assert Membership.objects.with_status().get().status == MembershipStatus.CANCELLED


@time_machine.travel(NOW, tick=False)
def test_export_streams_the_filtered_list_as_csv(admin_client):
    make_members(3)
    lapsed = UserFactory(email="lapsed@example.org", country="IN")
    TermFactory(membership=Membership.objects.create(user=lapsed), end=TODAY - datetime.timedelta(days=100))
    response = admin_client.get("/admin/members/membership/export/?status=lapsed")
    assert response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("email,full name,country,band,type,status")
    assert len(lines) == 2
    assert lines[1].startswith("lapsed@example.org,")
    assert ",India," in lines[1]  # labels, not codes
    assert ",Lapsed," in lines[1]


@time_machine.travel(NOW, tick=False)
def test_membership_page_shows_terms_and_orders(admin_client, types):
    order = order_create(user=UserFactory(country="DE"), membership_type=types["Full"], provider="invoice")
    order_mark_paid(order=order)
    page = admin_client.get(f"/admin/members/membership/{order.membership_id}/change/").content.decode()
    assert order.number in page
    assert "Nov. 24, 2027" in page


@time_machine.travel(NOW, tick=False)
def test_dashboard_shows_status_counts_endings_renewal_rate_and_dues(admin_client, types):
    make_members(3, end_offset=20)  # three expiring within 30 days
    renewed = UserFactory(country="IN")
    with time_machine.travel(NOW - datetime.timedelta(days=400), tick=False):
        order_mark_paid(order=order_create(user=renewed, membership_type=types["Full"], provider="invoice"))
    with time_machine.travel(NOW - datetime.timedelta(days=60), tick=False):
        order_mark_paid(order=order_create(user=renewed, membership_type=types["Full"], provider="invoice"))
    lapsed = UserFactory(country="UG")
    TermFactory(membership=Membership.objects.create(user=lapsed), end=TODAY - datetime.timedelta(days=100))
    page = admin_client.get("/admin/members/membership/dashboard/").content.decode()
    assert "<svg" in page
    assert "<desc" in page
    from members.selectors import dashboard_figures

    figures = dashboard_figures(TODAY)
    assert dict(figures["statuses"])[MembershipStatus.EXPIRING] == 3
    assert figures["ending"] == [(30, 3), (60, 3), (90, 3)]
    assert (figures["renewal"]["renewed"], figures["renewal"]["total"]) == (1, 2)
    assert ("lower_middle", Decimal("50.00"), 1, "USD") in figures["dues"]
    assert "Lower-middle income" in page
    assert figures["dues_by_type"] == [("Full", Decimal("50.00"), 1, "USD")]
    assert figures["dues_totals"] == [("USD", Decimal("50.00"))]
    assert "Dues collected by membership type" in page


def test_dashboard_warns_when_the_reminder_job_has_not_run_for_26_hours(admin_client):
    from society.health import REMINDER_JOB
    from society.services.jobs import heartbeat_record

    warning = "The renewal reminder job"
    assert warning in admin_client.get("/admin/members/membership/dashboard/").content.decode()  # never ran
    with time_machine.travel(NOW - datetime.timedelta(hours=27), tick=False):
        heartbeat_record(name=REMINDER_JOB, result={})
    with time_machine.travel(NOW, tick=False):
        assert warning in admin_client.get("/admin/members/membership/dashboard/").content.decode()
        heartbeat_record(name=REMINDER_JOB, result={})
        assert warning not in admin_client.get("/admin/members/membership/dashboard/").content.decode()


def test_membership_page_lists_the_reminders_sent(admin_client):
    from members.models import ReminderDelivery, ReminderRule
    from society.services.mail import email_enqueue

    term = TermFactory(end=TODAY + datetime.timedelta(days=20))
    # The default rules come from a data migration, unless an earlier transactional test flushed them.
    rule, _created = ReminderRule.objects.get_or_create(
        offset_days=-30,
        is_active=True,
        defaults={"subject_template": "Renew", "text_template": "Dear {{ preferred_name }}", "html_template": ""},
    )
    email = email_enqueue(to=term.membership.user.email, subject="Renew", text="Dear", kind="reminder")
    ReminderDelivery.objects.create(membership=term.membership, term=term, rule=rule, email=email)
    page = admin_client.get(f"/admin/members/membership/{term.membership.pk}/change/").content.decode()
    assert "reminder deliveries" in page.lower()
    assert str(rule) in page


def test_dashboard_warning_is_a_whole_sentence_in_the_staff_language(client):
    from society.health import REMINDER_JOB
    from society.services.jobs import heartbeat_record

    client.force_login(StaffFactory(is_superuser=True, language="de"))  # staff pages follow their language
    page = client.get("/admin/members/membership/dashboard/", headers={"accept-language": "de"})
    assert "Der Job für Verlängerungserinnerungen ist noch nie gelaufen" in page.content.decode()
    with time_machine.travel(NOW - datetime.timedelta(hours=27), tick=False):
        heartbeat_record(name=REMINDER_JOB, result={})
    with time_machine.travel(NOW, tick=False):
        page = client.get("/admin/members/membership/dashboard/", headers={"accept-language": "de"})
    assert "Der Job für Verlängerungserinnerungen lief zuletzt am" in page.content.decode()
    assert "last ran" not in page.content.decode()
