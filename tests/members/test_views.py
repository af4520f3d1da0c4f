import datetime

import pytest
import time_machine

from members.models import Membership, Order, OrderStatus
from members.services.payments import order_create, order_mark_paid
from tests.factories import TermFactory, UserFactory, price_matrix
from tests.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)


@pytest.fixture
def types(db):
    return price_matrix("Student", "Full")


@time_machine.travel(NOW, tick=False)
def test_user_without_membership_sees_a_way_to_join(client_logged_in):
    page = client_logged_in.get("/membership/")
    assert page.status_code == 200
    assert b'href="/membership/join/"' in page.content


def test_membership_pages_need_a_verified_email(client):
    user = UserFactory(verified=False)
    client.force_login(user)
    response = client.get("/membership/join/")
    assert "account/verified_email_required.html" in [template.name for template in response.templates]
    client.logout()
    assert client.get("/membership/").status_code == 302


@time_machine.travel(NOW, tick=False)
def test_join_page_names_country_band_and_prices(client, types):
    client.force_login(UserFactory(country="IN"))
    page = client.get("/membership/join/").content.decode()
    assert "India" in page
    assert "Lower-middle income" in page
    assert "$50.00" in page
    assert 'href="/membership/profile/">correct it in your profile</a>' in page


@time_machine.travel(NOW, tick=False)
def test_join_by_invoice_creates_the_order_and_emails_the_invoice(
    client, types, mailoutbox, django_capture_on_commit_callbacks
):
    member = UserFactory(country="BR")
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/membership/join/", {"membership_type": types["Full"].pk, "provider": "invoice"})
    order = Order.objects.get()
    assert response["Location"] == order.get_absolute_url()
    assert (order.amount, order.provider, order.status) == (100, "invoice", OrderStatus.PENDING)
    deliver_outbox()
    assert mailoutbox[0].to == [member.email]
    assert "IBAN" in mailoutbox[0].body
    invoice = client.get(order.get_absolute_url()).content.decode()
    assert "Invoice" in invoice
    assert "IBAN" in invoice
    home = client.get("/membership/").content.decode()
    assert f"Invoice {order.number}" in home


@time_machine.travel(NOW, tick=False)
def test_renew_page_before_the_window_explains_when_it_opens(client, types):
    member = UserFactory(country="DE")
    TermFactory(membership=Membership.objects.create(user=member), end=datetime.date(2027, 6, 30))
    client.force_login(member)
    page = client.get("/membership/renew/").content.decode()
    assert "Renewal opens on April 1, 2027" in page
    response = client.post("/membership/renew/", {"membership_type": types["Full"].pk, "provider": "invoice"})
    assert response.status_code == 200
    assert not Order.objects.exists()
    home = client.get("/membership/").content.decode()
    assert "You can renew from April 1, 2027" in home
    assert "badge--active" in home


@time_machine.travel(NOW, tick=False)
def test_expiring_member_sees_days_left_and_renew_button(client, types):
    member = UserFactory(country="DE")
    TermFactory(membership=Membership.objects.create(user=member), end=datetime.date(2026, 12, 31))
    client.force_login(member)
    home = client.get("/membership/").content.decode()
    assert "36 days" in home
    assert 'href="/membership/renew/"' in home
    assert "Expiring soon" in home


@time_machine.travel(NOW, tick=False)
def test_another_members_receipt_is_a_404_but_staff_can_open_it(client, types, staff):
    owner = UserFactory(country="DE")
    order = order_create(user=owner, membership_type=types["Full"], provider="invoice")
    order_mark_paid(order=order)
    client.force_login(UserFactory())
    assert client.get(order.get_absolute_url()).status_code == 404
    assert client.get("/membership/orders/2026-424242/").status_code == 404
    client.force_login(owner)
    receipt = client.get(order.get_absolute_url()).content.decode()
    assert "Receipt" in receipt
    assert "Nov. 25, 2026 – Nov. 24, 2027" in receipt
    client.force_login(staff)
    assert client.get(order.get_absolute_url()).status_code == 200


@time_machine.travel(NOW, tick=False)
def test_membership_page_query_count_does_not_grow_with_orders(client, types, django_assert_max_num_queries):
    member = UserFactory(country="DE")
    for years_ago in range(15, 0, -1):
        with time_machine.travel(NOW - datetime.timedelta(days=400 * years_ago), tick=False):
            order_mark_paid(order=order_create(user=member, membership_type=types["Full"], provider="invoice"))
    client.force_login(member)
    with django_assert_max_num_queries(12):
        assert client.get("/membership/").status_code == 200
