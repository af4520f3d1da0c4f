"""Types that staff approve (Student): statement first, payment after approval."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from members.models import Order, OrderStatus
from members.services.payments import MSG_STATEMENT_REQUIRED, order_approve, order_create, order_mark_paid
from tests.factories import StaffFactory, UserFactory, price_matrix
from tests.members.stripe_server import FakeStripe
from tests.outbox import deliver_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def student(db):
    student = price_matrix("Student", "Full")["Student"]
    student.requires_approval = True
    student.save()
    return student


def test_statement_is_required_and_payment_waits_for_approval(student, mailoutbox, django_capture_on_commit_callbacks):
    member = UserFactory(country="DE")
    with pytest.raises(ValidationError) as refused:
        order_create(user=member, membership_type=student, provider="invoice")
    assert refused.value.messages == [MSG_STATEMENT_REQUIRED % {"type": "Student"}]
    order = order_create(user=member, membership_type=student, provider="invoice", statement="MSc, TU Berlin")
    assert order.awaits_approval
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order_approve(order=order, by=staff)
    order.refresh_from_db()
    assert (order.awaits_approval, order.approved_by) == (False, staff)
    deliver_outbox()
    assert "Invoice" in mailoutbox[0].subject
    with pytest.raises(ValidationError):
        order_approve(order=order, by=staff)


def test_join_page_asks_for_the_statement_and_does_not_send_an_invoice_yet(client, student, mailoutbox):
    client.force_login(UserFactory(country="DE"))
    data = {"membership_type": student.pk, "provider": "invoice"}
    page = client.post("/membership/join/", data)
    assert "please describe how you meet its eligibility" in page.content.decode()
    response = client.post(
        "/membership/join/", {**data, "statement": "PhD student, University of Nairobi"}, follow=True
    )
    content = response.content.decode()
    assert "Waiting for approval by the office" in content
    assert "IBAN" not in content
    deliver_outbox()
    assert mailoutbox == []


def test_staff_approve_in_admin_then_member_pays_by_card(client, student, settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test_local", "whsec_test"
    member = UserFactory(country="IN")
    order = order_create(user=member, membership_type=student, provider="stripe", statement="MSc student")
    client.force_login(member)
    assert client.post(f"/membership/orders/{order.number}/pay/").status_code == 404  # not approved yet
    client.force_login(StaffFactory(is_superuser=True))
    response = client.post("/admin/members/order/", {"action": "approve", "_selected_action": [order.pk]}, follow=True)
    assert "1 application approved." in response.content.decode()
    client.force_login(member)
    with FakeStripe() as fake:
        settings.STRIPE_API_BASE = fake.url
        page = client.get(order.get_absolute_url()).content.decode()
        assert "Pay by card" in page
        response = client.post(f"/membership/orders/{order.number}/pay/")
    assert response["Location"].startswith("https://checkout.stripe.com/")
    assert fake.requests[0]["form"]["line_items[0][price_data][unit_amount]"] == "5000"
    client.force_login(UserFactory())
    assert client.post(f"/membership/orders/{order.number}/pay/").status_code == 404  # not the owner


def test_staff_recording_a_payment_approves_the_application(student):
    order = order_create(user=UserFactory(country="DE"), membership_type=student, provider="invoice", statement="BSc")
    staff = StaffFactory()
    order_mark_paid(order=order, by=staff)
    order = Order.objects.get()
    assert (order.status, order.approved_by, order.awaits_approval) == (OrderStatus.PAID, staff, False)
