"""The accountant's export: a period's payments, refunds, orders and totals, with labels, formula-safe."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from members.services.ledger import payment_record
from members.services.payments import order_create, order_mark_paid, order_refund
from members.services.refunds import refund_record
from tests.factories import StaffFactory, UserFactory, price_matrix

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)
URL = "/admin/members/payment/accounting/"
D = datetime.date


@pytest.fixture
def books(db):
    """Three members: a transfer and a cheque in November, a card payment refunded, one payment in October."""
    full = price_matrix("Full")["Full"]
    office = StaffFactory(is_superuser=True)
    with time_machine.travel(NOW, tick=False):
        german = order_create(
            user=UserFactory(country="DE", full_name='=HYPERLINK("http://x")'), membership_type=full, provider="invoice"
        )
        payment_record(
            order=german,
            amount=Decimal("200.00"),
            received_on=D(2026, 11, 3),
            method="bank_transfer",
            reference="+TRF 1",
            by=office,
        )
        indian = order_create(
            user=UserFactory(country="IN", full_name="Priya Rao"), membership_type=full, provider="invoice"
        )
        payment_record(order=indian, amount=Decimal("50.00"), received_on=D(2026, 11, 4), method="cheque", by=office)
        ugandan = order_create(
            user=UserFactory(country="UG", full_name="Okello Moses"), membership_type=full, provider="invoice"
        )
        payment_record(order=ugandan, amount=Decimal("20.00"), received_on=D(2026, 10, 30), method="cash", by=office)
        brazilian = order_create(
            user=UserFactory(country="BR", full_name="Ana Lima"), membership_type=full, provider="stripe"
        )
        order_mark_paid(order=brazilian, provider_reference="cs_1", payment_intent="pi_1")
        order_refund(order=brazilian, reason="Joined twice", by=office)
        # A partial refund with its credit note, by bank transfer back to the German member.
        refund_record(
            order=german,
            amount=Decimal("40.00"),
            method="bank_transfer",
            refunded_on=D(2026, 11, 20),
            reference="RTN 7",
            reason="Student rate applied late",
            by=office,
        )
    return office


def download(client, office, **params):
    client.force_login(office)
    return client.get(URL, {"start": "2026-11-01", "end": "2026-11-30", **params})


def rows_of(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_payments_of_the_period_with_labels_and_formula_safe_cells(client, books):
    rows = rows_of(download(client, books, table="payments"))
    assert rows[0][:3] == ["date received", "order", "member"]
    by_name = {row[2]: row for row in rows[1:]}
    assert set(by_name) == {'\'=HYPERLINK("http://x")', "Priya Rao", "Ana Lima"}  # October's cash is outside
    priya = by_name["Priya Rao"]
    assert priya[4:11] == ["India", "Full", "Lower-middle income", "Cheque", "", "50.00", "USD"]
    assert by_name['\'=HYPERLINK("http://x")'][8] == "'+TRF 1"
    assert by_name["Ana Lima"][7] == "Card online (Stripe)"


def test_totals_by_method_band_and_type_and_refunds(client, books):
    rows = rows_of(download(client, books, table="totals"))
    totals = {(row[0], row[1]): (row[2], row[3]) for row in rows[1:]}
    assert totals[("Received by method", "Bank transfer")] == ("1", "200.00")
    assert totals[("Received by method", "Cheque")] == ("1", "50.00")
    assert totals[("Received by income band", "High income")] == ("1", "200.00")
    assert totals[("Received by membership type", "Full")] == ("3", "350.00")
    assert totals[("Refunded by method", "Bank transfer")] == ("1", "40.00")
    assert totals[("Refunded by method", "Card (Stripe)")] == ("1", "100.00")  # refunded before credit notes
    assert totals[("Refunded by income band", "High income")] == ("1", "40.00")
    assert totals[("Refunded by membership type", "Full")] == ("2", "140.00")


def test_refunds_list_credit_notes_with_method_and_reference(client, books):
    rows = rows_of(download(client, books, table="refunds"))
    assert rows[0][:3] == ["date refunded", "credit note", "order"]
    assert [(row[1], row[3], row[8], row[9], row[10], row[12]) for row in rows[1:]] == [
        ("CN-2026-000001", '\'=HYPERLINK("http://x")', "Bank transfer", "RTN 7", "40.00", "Student rate applied late"),
        ("", "Ana Lima", "Card (Stripe)", "", "100.00", "Joined twice"),
    ]


def test_all_tables_as_one_workbook(client, books):
    response = download(client, books, table="xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["payments", "refunds", "orders", "totals"]
    payments = list(workbook["payments"].iter_rows(min_row=2, values_only=True))
    assert sorted(row[9] for row in payments) == [50.0, 100.0, 200.0]
    assert all(not str(row[2]).startswith("=") for row in payments)  # no formula ever reaches a cell
    refunds = list(workbook["refunds"].iter_rows(min_row=2, values_only=True))
    assert [(row[3], row[-1]) for row in refunds][-1] == ("Ana Lima", "Joined twice")
    assert len(list(workbook["orders"].iter_rows(min_row=2))) == 4


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-12-01", "end": "2026-11-01"}, "The period must start before it ends."),
        ({"start": "2000-01-01", "end": "2026-11-01"}, "ten years at most"),
        ({"start": "not-a-date", "end": "2026-11-01"}, "Enter a valid date."),
        ({"start": "2026-11-01", "end": "2026-11-30", "table": "everything"}, "Select a valid choice."),
    ],
)
def test_a_bad_period_gets_a_message_not_a_file(client, books, params, message):
    client.force_login(books)
    response = client.get(URL, params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()


def test_members_cannot_download_the_books(client, books):
    client.force_login(UserFactory())
    response = client.get(URL, {"start": "2026-11-01", "end": "2026-11-30", "table": "payments"})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
