"""The invoice and credit note pages in a real browser: no accessibility violation, screenshots to look at."""

import datetime
from decimal import Decimal

import pytest

from members.services.ledger import payment_record
from members.services.payments import order_create
from members.services.refunds import refund_record
from tests.factories import UserFactory, price_matrix
from tests.members.test_browser_memberships import log_in

pytestmark = pytest.mark.browser


def test_receipt_and_credit_note_pages_pass_axe(page, axe, live_server, tmp_path):
    full = price_matrix("Full")["Full"]
    member = UserFactory(
        country="EG",
        full_name="فاطمة الزهراء",
        billing_institution="جامعة القاهرة",
        billing_address="1 Gamaa Street\nGiza",
        billing_tax_id="EG-100-200-300",
        language="en",
    )
    order = order_create(user=member, membership_type=full, provider="invoice")
    payment_record(order=order, amount=order.amount, received_on=datetime.date.today(), method="cash", by=None)
    refund = refund_record(
        order=order, amount=Decimal("5.00"), method="cash", refunded_on=datetime.date.today(), reason="Overcharged"
    )
    log_in(page, member, live_server)
    page.goto(order.get_absolute_url())
    assert page.locator("h1").inner_text() == f"Receipt {order.number}"
    assert "جامعة القاهرة" in page.content()
    axe(page)
    page.screenshot(path=tmp_path / "receipt.png", full_page=True)
    page.goto(refund.get_absolute_url())
    assert page.locator("h1").inner_text() == f"Credit note {refund.number}"
    axe(page)
    page.screenshot(path=tmp_path / "credit-note.png", full_page=True)
    print("screenshots:", tmp_path)
