"""Payments as the office records them: partial payments, the day the money arrived, nothing dropped, and
one paid order per period."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from members.models import Order, OrderStatus, Payment, PaymentMethod, PaymentProvider, PaymentReview, Term, User
from members.services.ledger import MSG_PAYMENT_FUTURE, payment_record
from members.services.payments import office_order_create, order_create, order_mark_paid, order_refund
from society.models import OutgoingEmail
from tests.factories import StaffFactory, TermFactory, UserFactory, price_matrix

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)
D = datetime.date


@pytest.fixture
def full(db):
    return price_matrix("Full")["Full"]


@pytest.fixture
def office(db):
    return StaffFactory(is_superuser=True)


def invoice_for(full, **user):
    return order_create(user=UserFactory(country="DE", **user), membership_type=full, provider=PaymentProvider.INVOICE)


@time_machine.travel(NOW, tick=False)
def test_partial_payments_add_up_and_the_order_is_paid_as_of_the_day_the_last_part_arrived(full, office):
    order = invoice_for(full)  # 200.00 in the high band
    first = payment_record(
        order=order,
        amount=Decimal("120.00"),
        received_on=D(2026, 11, 2),
        method="cheque",
        reference="CHQ 881",
        by=office,
    )
    order.refresh_from_db()
    assert (order.status, first.review) == (OrderStatus.PENDING, PaymentReview.NONE)
    assert not Term.objects.exists()

    payment_record(order=order, amount=Decimal("80.00"), received_on=D(2026, 11, 9), method="bank_transfer", by=office)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.paid_at.date() == D(2026, 11, 9)  # not the day staff clicked (25 November)
    assert (order.term.start, order.term.end) == (D(2026, 11, 9), D(2027, 11, 8))
    assert order.payments.total() == Decimal("200.00")
    assert OutgoingEmail.objects.filter(idempotency_key=f"receipt:{order.number}").count() == 1


@time_machine.travel(NOW, tick=False)
def test_a_late_recorded_transfer_keeps_the_renewal_continuous(full, office):
    user = UserFactory(country="DE")
    membership = TermFactory(membership__user=user, start=D(2025, 11, 20), end=D(2026, 11, 19)).membership
    order = order_create(user=user, membership_type=full, provider=PaymentProvider.INVOICE)
    # The transfer arrived before the term ended; staff only record it a week later.
    payment_record(order=order, amount=order.amount, received_on=D(2026, 11, 18), method="bank_transfer", by=office)
    term = Term.objects.get(order=order)
    assert term.membership == membership
    assert term.start == D(2026, 11, 20)


@time_machine.travel(NOW, tick=False)
def test_more_than_the_amount_is_recorded_and_flagged_never_dropped(full, office):
    order = invoice_for(full)
    payment = payment_record(
        order=order, amount=Decimal("250.00"), received_on=D(2026, 11, 24), method="cash", by=office
    )
    assert payment.review == PaymentReview.OVERPAID
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    again = payment_record(order=order, amount=Decimal("200.00"), received_on=D(2026, 11, 25), method="cash", by=office)
    assert again.review == PaymentReview.OVERPAID
    assert Term.objects.count() == 1
    assert set(Payment.objects.needing_review()) == {payment, again}


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("close", ["cancel", "refund"])
def test_money_for_a_closed_order_is_kept_and_flagged_without_a_term(full, office, close):
    order = invoice_for(full)
    if close == "cancel":
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)
    else:
        order_mark_paid(order=order)
        order_refund(order=order, reason="Paid twice", by=office)
    terms = Term.objects.count()
    payment = payment_record(order=order, amount=order.amount, received_on=D(2026, 11, 25), method="cheque", by=office)
    assert payment.review == PaymentReview.ORDER_CLOSED
    order.refresh_from_db()
    assert order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
    assert Term.objects.count() == terms


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("amount", "received_on", "method"),
    [
        (Decimal("0"), D(2026, 11, 25), "cash"),
        (Decimal("-5"), D(2026, 11, 25), "cash"),
        (Decimal("10"), D(2026, 11, 26), "cash"),  # tomorrow
        (Decimal("10"), D(2026, 11, 25), "card_online"),  # only Stripe records online card payments
        (Decimal("10"), D(2026, 11, 25), "barter"),
    ],
)
def test_bad_payments_are_refused_and_change_nothing(full, office, amount, received_on, method):
    order = invoice_for(full)
    with pytest.raises(ValidationError):
        payment_record(order=order, amount=amount, received_on=received_on, method=method, by=office)
    assert not Payment.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


@time_machine.travel(NOW, tick=False)
def test_paying_a_superseded_card_order_cancels_the_newer_invoice_and_tells_the_member(full):
    user = UserFactory(country="DE")
    card = order_create(user=user, membership_type=full, provider=PaymentProvider.STRIPE)
    invoice = order_create(user=user, membership_type=full, provider=PaymentProvider.INVOICE)
    card.refresh_from_db()
    assert card.status == OrderStatus.CANCELLED  # switching method voids the older order
    # The member had already paid on Stripe's page: the webhook arrives for the cancelled card order.
    order_mark_paid(order=card, provider_reference="cs_test_1", payment_intent="pi_test_1")

    invoice.refresh_from_db()
    assert invoice.status == OrderStatus.CANCELLED
    notice = OutgoingEmail.objects.get(idempotency_key=f"invoice_cancelled:{invoice.number}")
    assert invoice.number in notice.subject
    assert card.number in notice.text_body
    # The office marking the (now cancelled) invoice paid adds no second year.
    office = StaffFactory(is_superuser=True)
    payment = payment_record(
        order=invoice, amount=invoice.amount, received_on=D(2026, 11, 25), method="bank_transfer", by=office
    )
    assert payment.review == PaymentReview.ORDER_CLOSED
    assert Term.objects.filter(membership=card.membership).count() == 1


@time_machine.travel(NOW, tick=False)
def test_a_card_payment_is_recorded_as_money_received(full):
    user = UserFactory(country="DE")
    order = order_create(user=user, membership_type=full, provider=PaymentProvider.STRIPE)
    order_mark_paid(order=order, provider_reference="cs_test_2", payment_intent="pi_test_2")
    order_mark_paid(order=order, provider_reference="cs_test_2", payment_intent="pi_test_2")  # a replayed webhook
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.reference, payment.received_on) == (
        Decimal("200.00"),
        PaymentMethod.CARD_ONLINE,
        "pi_test_2",
        D(2026, 11, 25),
    )


@time_machine.travel(NOW, tick=False)
def test_staff_record_a_payment_from_the_order_page(client, full, office):
    client.force_login(office)
    order = invoice_for(full)
    page = client.get(f"/admin/members/order/{order.pk}/change/")
    assert f"/admin/members/order/{order.pk}/payment/" in page.content.decode()
    url = f"/admin/members/order/{order.pk}/payment/"
    form = client.get(url)
    assert form.status_code == 200
    assert 'value="200.00"' in form.content.decode()  # what is still due

    refused = client.post(url, {"amount": "50", "received_on": "2026-12-01", "method": "cheque"})
    assert str(MSG_PAYMENT_FUTURE) in refused.content.decode()
    assert not Payment.objects.exists()

    client.post(url, {"amount": "50", "received_on": "2026-11-20", "method": "cheque", "reference": "CHQ 12"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert client.get(url).context["form"].initial["amount"] == Decimal("150.00")
    response = client.post(url, {"amount": "150", "received_on": "2026-11-21", "method": "bank_transfer"}, follow=True)
    assert "Payment recorded." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.term.start == D(2026, 11, 21)


@time_machine.travel(NOW, tick=False)
def test_a_member_cannot_open_the_record_payment_page(client, full):
    order = invoice_for(full)
    client.force_login(order.membership.user)
    response = client.post(
        f"/admin/members/order/{order.pk}/payment/", {"amount": "200", "received_on": "2026-11-20", "method": "cash"}
    )
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert not Payment.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_mark_paid_takes_the_received_date_and_settles_only_what_is_due(client, full, office):
    client.force_login(office)
    order = invoice_for(full)
    payment_record(order=order, amount=Decimal("30.00"), received_on=D(2026, 11, 3), method="cash", by=office)
    client.post(
        "/admin/members/order/",
        {
            "action": "mark_paid",
            "_selected_action": [order.pk],
            "apply": "1",
            "received_on": "2026-11-10",
            "method": "bank_transfer",
            "reference": "TRF 77",
        },
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.paid_at.date() == D(2026, 11, 10)
    assert sorted(order.payments.values_list("amount", flat=True)) == [Decimal("30.00"), Decimal("170.00")]
    assert order.payments.get(reference="TRF 77").received_on == D(2026, 11, 10)


@time_machine.travel(NOW, tick=False)
def test_payments_changelist_shows_what_needs_review_and_staff_clear_it(client, full, office):
    client.force_login(office)
    order = invoice_for(full, full_name="Petra Overpaid")
    payment_record(order=order, amount=Decimal("300.00"), received_on=D(2026, 11, 24), method="cash", by=office)
    page = client.get("/admin/members/payment/?review=open").content.decode()
    assert "Petra Overpaid" in page
    client.post("/admin/members/payment/", {"action": "mark_reviewed", "_selected_action": [Payment.objects.get().pk]})
    assert not Payment.objects.needing_review().exists()
    assert "Petra Overpaid" not in client.get("/admin/members/payment/?review=open").content.decode()


@time_machine.travel(NOW, tick=False)
def test_office_order_for_someone_new_opens_the_account_and_emails_a_password_link(full, office):
    order = office_order_create(
        by=office, email="Desk.Joiner@example.org", full_name="Amara  Okafor", country="UG", membership_type=full
    )
    user = order.membership.user
    assert (user.email, user.full_name, str(user.country), user.has_usable_password()) == (
        "Desk.Joiner@example.org",
        "Amara Okafor",
        "UG",
        False,
    )
    assert (order.amount, order.band, order.created_by, order.provider) == (Decimal("20.00"), "low", office, "invoice")
    welcome = OutgoingEmail.objects.get(idempotency_key=f"account_created:{user.pk}")
    assert "/accounts/password/reset/key/" in welcome.text_body
    assert OutgoingEmail.objects.filter(idempotency_key=f"invoice:{order.number}").exists()


@time_machine.travel(NOW, tick=False)
def test_the_password_link_in_the_welcome_email_lets_the_member_choose_a_password(client, full, office):
    order = office_order_create(
        by=office, email="link@example.org", full_name="Lin Link", country="DE", membership_type=full
    )
    text = OutgoingEmail.objects.get(idempotency_key=f"account_created:{order.membership.user.pk}").text_body
    url = next(word for word in text.split() if "/password/reset/key/" in word)
    form = client.get(url.removeprefix("http://localhost:8000"), follow=True)
    assert form.status_code == 200
    assert 'name="password1"' in form.content.decode()


@time_machine.travel(NOW, tick=False)
def test_office_order_for_an_existing_member_at_an_agreed_price_needs_a_reason(full, office):
    user = UserFactory(country="DE", email="known@example.org")
    with pytest.raises(ValidationError) as refused:
        office_order_create(by=office, email="KNOWN@example.org", membership_type=full, amount=Decimal("150.00"))
    assert refused.value.code == "price_reason"
    assert not Order.objects.exists()
    order = office_order_create(
        by=office,
        email="KNOWN@example.org",
        membership_type=full,
        amount=Decimal("150.00"),
        price_reason="Meeting desk: early-career discount",
        send_invoice=False,
    )
    assert (order.membership.user, order.amount, order.price_reason) == (
        user,
        Decimal("150.00"),
        "Meeting desk: early-career discount",
    )
    assert not OutgoingEmail.objects.exists()  # staff hand the invoice over at the desk


@time_machine.travel(NOW, tick=False)
def test_an_office_order_for_an_approval_type_is_approved_as_it_is_made(office):
    student = price_matrix("Student")["Student"]
    student.requires_approval = True
    student.save()
    order = office_order_create(
        by=office, email="stu@example.org", full_name="Stu Dent", country="IN", membership_type=student
    )
    assert (order.needs_approval, order.approved_by, order.awaits_approval) == (True, office, False)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"full_name": "Ann <b>Bold</b>", "country": "DE"}, "invalid"),
        ({"full_name": "", "country": "DE"}, None),
        ({"full_name": "No Country", "country": ""}, "country"),
        ({"full_name": "No Country", "country": "XX"}, "country"),
    ],
)
def test_a_new_member_with_bad_details_gets_neither_account_nor_order(full, office, fields, code):
    with pytest.raises(ValidationError):
        office_order_create(by=office, email="new@example.org", membership_type=full, **fields)
    assert not Order.objects.exists()
    assert not User.objects.filter(email="new@example.org").exists()
    assert not OutgoingEmail.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_staff_create_an_order_from_the_admin(client, full, office):
    client.force_login(office)
    assert "/admin/members/order/new/" in client.get("/admin/members/order/").content.decode()
    url = "/admin/members/order/new/"
    assert client.get(url).status_code == 200
    refused = client.post(url, {"email": "desk@example.org", "membership_type": full.pk, "send_invoice": "on"})
    # Form errors are written by Jinja2 (society/forms.py), which escapes ' as &#39;.
    page = refused.content.decode().replace("&#39;", "&#x27;")
    assert "There is no account with this email address: enter the name." in page
    assert "Choose the member&#x27;s country" in page  # someone new needs a country for their band
    assert not Order.objects.exists()
    response = client.post(
        url,
        {
            "email": "desk@example.org",
            "full_name": "Desk Member",
            "country": "BR",
            "membership_type": full.pk,
            "send_invoice": "on",
        },
        follow=True,
    )
    order = Order.objects.get()
    assert f"Order {order.number} created." in response.content.decode()
    assert (order.amount, order.membership.user.full_name) == (Decimal("100.00"), "Desk Member")
