"""Invoices, receipts and credit notes institutions accept: the society's identity, the member's billing
details frozen on the order, due date, line items; each also a PDF (any script a name is written in) that
the member downloads and that their email carries."""

import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from pypdf import PdfReader

from members.models import Order
from members.services.accounts import user_erase
from members.services.ledger import payment_record
from members.services.payments import order_create
from members.services.refunds import refund_record
from society.models import OutgoingEmail
from society.services.mail import outgoing_email_send
from tests.factories import StaffFactory, UserFactory, price_matrix

pytestmark = pytest.mark.django_db

ISSUED = datetime.datetime(2026, 1, 10, 9, tzinfo=datetime.UTC)


@pytest.fixture
def full(db):
    return price_matrix("Full")["Full"]


def billed_member(**fields):
    return UserFactory(
        country="JP",
        full_name="山田 花子",
        billing_name="山田 花子",
        billing_institution="東京大学 医科学研究所",
        billing_address="4-6-1 Shirokanedai\nMinato-ku, Tokyo",
        billing_tax_id="T1234567890123",
        language="en",
        **fields,
    )


def pdf_text(content: bytes) -> tuple[str, list[str]]:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    fonts = sorted(str(font["/BaseFont"]) for font in reader.pages[0]["/Resources"]["/Font"].get_object().values())
    return text, fonts


def test_billing_details_are_edited_on_the_profile_and_frozen_on_the_order(client, full):
    member = UserFactory(country="DE", full_name="Anna Schmidt", language="en")
    client.force_login(member)
    profile = {
        "full_name": "Anna Schmidt",
        "country": "DE",
        "language": "en",
        "billing_name": "Dr. Anna Schmidt",
        "billing_institution": "Charité – Universitätsmedizin Berlin",
        "billing_address": "Charitéplatz 1\n10117 Berlin",
        "billing_tax_id": "DE811304768",
    }
    assert client.post("/membership/profile/", profile).status_code == 302
    member.refresh_from_db()
    assert (member.billing_institution, member.billing_tax_id) == (
        "Charité – Universitätsmedizin Berlin",
        "DE811304768",
    )
    order = order_create(user=member, membership_type=full, provider="invoice")
    # A later change of the profile never rewrites an invoice already issued.
    client.post("/membership/profile/", {**profile, "billing_institution": "Max Planck Institute"})
    order.refresh_from_db()
    assert (order.billing_name, order.billing_institution, order.billing_address, order.billing_tax_id) == (
        "Dr. Anna Schmidt",
        "Charité – Universitätsmedizin Berlin",
        "Charitéplatz 1\n10117 Berlin",
        "DE811304768",
    )


def test_billing_details_given_at_checkout_are_saved_and_frozen(client, full):
    member = UserFactory(country="DE", full_name="Anna Schmidt", billing_tax_id="DE1", language="en")
    client.force_login(member)
    form = client.get("/membership/join/")
    assert form.context["form"]["billing_tax_id"].value() == "DE1"
    data = {
        "membership_type": full.pk,
        "provider": "invoice",
        "billing_name": "Anna Schmidt",
        "billing_institution": "Helmholtz Zentrum München",
        "billing_address": "Ingolstädter Landstraße 1",
        "billing_tax_id": "DE129521671",
    }
    assert client.post("/membership/join/", data).status_code == 302
    order = Order.objects.get()
    member.refresh_from_db()
    assert order.billing_institution == member.billing_institution == "Helmholtz Zentrum München"
    assert order.billing_tax_id == member.billing_tax_id == "DE129521671"


def test_without_billing_details_the_order_is_made_out_to_the_full_name(full):
    order = order_create(
        user=UserFactory(country="DE", full_name="Jonas Weber"), membership_type=full, provider="invoice"
    )
    assert (order.billing_name, order.billing_address) == ("Jonas Weber", "")


def test_the_invoice_shows_issuer_billed_party_due_date_and_line_items(client, full, settings):
    settings.INVOICE_DUE_DAYS = 30
    member = billed_member()
    with time_machine.travel(ISSUED, tick=False):
        order = order_create(user=member, membership_type=full, provider="invoice")
    client.force_login(member)
    page = client.get(order.get_absolute_url()).content.decode()
    for expected in [
        settings.SOCIETY_LEGAL_NAME,
        *settings.SOCIETY_ADDRESS,
        *settings.SOCIETY_TAX_IDS,
        "山田 花子",
        "東京大学 医科学研究所",
        "Minato-ku, Tokyo",
        "T1234567890123",
        "Jan. 10, 2026",  # issue date
        "Feb. 9, 2026",  # due 30 days later
        "Full",
        "12 months from the day payment is received",
        order.get_band_display(),
        order.number,
    ]:
        assert expected in page, expected


def test_the_receipt_shows_the_period_covered_and_the_date_received(client, full):
    member = billed_member()
    with time_machine.travel(ISSUED, tick=False):
        order = order_create(user=member, membership_type=full, provider="invoice")
        payment_record(
            order=order, amount=order.amount, received_on=datetime.date(2026, 1, 8), method="bank_transfer", by=None
        )
    client.force_login(member)
    page = client.get(order.get_absolute_url()).content.decode()
    term = Order.objects.get(pk=order.pk).term
    assert f"{term.start:%b}. {term.start.day}, {term.start.year}" in page
    assert "Jan. 8, 2026" in page  # the day the money arrived
    assert "Bank transfer" in page
    assert "Due date" not in page


@pytest.mark.parametrize(
    ("full_name", "font"),
    [("山田 花子", "Noto-Sans-CJK-JP"), ("فاطمة الزهراء", "Noto-Naskh-Arabic")],
)
def test_the_pdf_carries_a_name_in_any_script_the_number_and_the_amount(client, full, full_name, font):
    member = UserFactory(country="EG", full_name=full_name, billing_name="", language="en")
    order = order_create(user=member, membership_type=full, provider="invoice")
    client.force_login(member)
    response = client.get(f"/membership/orders/{order.number}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{order.number}.pdf"'
    text, fonts = pdf_text(response.content)
    assert full_name in text
    assert order.number in text
    assert f"{order.amount:,.2f}" in text.replace("\xa0", "")
    assert any(font in name for name in fonts), fonts  # real glyphs, not boxes


def test_only_the_member_and_staff_download_the_pdf(client, full):
    order = order_create(user=billed_member(), membership_type=full, provider="invoice")
    url = f"/membership/orders/{order.number}/pdf/"
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get(url).status_code == 200


def test_the_credit_note_pdf_shows_the_refund(client, full):
    member = billed_member()
    order = order_create(user=member, membership_type=full, provider="invoice")
    payment_record(order=order, amount=order.amount, received_on=datetime.date.today(), method="cash", by=None)
    refund = refund_record(
        order=order, amount=Decimal("12.50"), method="cash", refunded_on=datetime.date.today(), reason="Overcharged"
    )
    client.force_login(member)
    response = client.get(f"/membership/credit-notes/{refund.number}/pdf/")
    text, _fonts = pdf_text(response.content)
    for expected in (refund.number, order.number, "山田 花子", "12.50", "Overcharged", "Credit note"):
        assert expected in text, expected


def test_receipt_and_credit_note_emails_carry_their_pdf_made_at_send_time(full, smtp_server):
    member = billed_member()
    order = order_create(user=member, membership_type=full, provider="invoice")
    payment_record(order=order, amount=order.amount, received_on=datetime.date.today(), method="cash", by=None)
    refund_record(order=order, amount=Decimal("5.00"), method="cash", refunded_on=datetime.date.today(), reason="x")
    emails = {email.kind: email for email in OutgoingEmail.objects.all()}
    assert set(emails) == {"invoice", "receipt", "credit_note"}
    # The outbox holds the text only: the PDF is made when the email leaves.
    assert all(len(email.html_body) < 5000 for email in emails.values())
    for kind in ("invoice", "receipt", "credit_note"):
        outgoing_email_send(email_id=emails[kind].pk)
    attachments = {}
    for message in smtp_server.handler.messages:
        for part in message.iter_attachments():
            attachments[str(message["Subject"])] = (part.get_content_type(), part.get_filename(), part.get_content())
    assert len(attachments) == 3
    receipt = next(value for subject, value in attachments.items() if subject.startswith("Receipt"))
    assert receipt[:2] == ("application/pdf", f"{order.number}.pdf")
    assert "山田 花子" in pdf_text(receipt[2])[0]
    credit_note = next(value for subject, value in attachments.items() if subject.startswith("Credit note"))
    assert credit_note[1].startswith("CN-")


def test_erasing_the_account_blanks_the_billing_details_on_its_orders(full):
    member = billed_member()
    order = order_create(user=member, membership_type=full, provider="invoice")
    user_erase(user=member)
    order.refresh_from_db()
    assert (order.billing_name, order.billing_institution, order.billing_address, order.billing_tax_id) == ("",) * 4
    assert not order.history.exclude(billing_name="").exists()
    member.refresh_from_db()
    assert member.billing_address == ""
