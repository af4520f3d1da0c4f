"""A member whose language is Japanese gets every email in Japanese, whatever language the sender runs in
(staff's English admin, the hourly job, an English page). Needs locale/ja's "Amount paid" and receipt subject."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from members.models import CountryBand, Price, ReminderRule
from members.reminder_defaults import DEFAULT_RULES
from members.services.payments import order_mark_paid
from members.services.reminders import renewal_reminders_send
from society.models import OutgoingEmail
from tests.factories import MembershipTypeFactory, OrderFactory, TermFactory, UserFactory
from tests.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def compiled_catalogues():
    # The build compiles them (make test); compiling again here keeps the test honest when run alone.
    call_command("compilemessages", "--locale", "ja", "--ignore", ".venv", verbosity=0)


@pytest.fixture
def japanese_member(db):
    return UserFactory(full_name="山田 花子", country="JP", language="ja")


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False)
def test_reminder_reaches_the_smtp_server_in_japanese(japanese_member, smtp_server):
    for rule in DEFAULT_RULES:
        ReminderRule.objects.get_or_create(offset_days=rule["offset_days"], defaults=rule)
    full = MembershipTypeFactory(name="Full")
    CountryBand.objects.update_or_create(country="JP", defaults={"band": "high"})
    Price.objects.create(membership_type=full, band="high", amount=Decimal("1234.50"))
    TermFactory(end=TODAY, membership__user=japanese_member, membership_type=full)
    with translation.override("en"):  # the job's own language
        renewal_reminders_send()
    deliver_outbox()
    message = smtp_server.handler.messages[0]
    text = message.get_body(("plain",)).get_content()
    assert "2026年3月2日" in text  # the end date, Japanese style
    assert "$1,234.50" in text
    assert '<html lang="ja">' in message.get_body(("html",)).get_content()


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False)
def test_receipt_sent_by_english_staff_is_in_japanese(japanese_member):
    term = TermFactory(membership__user=japanese_member, end=dt.date(2026, 1, 31))
    order = OrderFactory(membership=term.membership, amount=Decimal("200.00"), number="2026-000042")
    with translation.override("en"):
        order_mark_paid(order=order)
    receipt = OutgoingEmail.objects.get(kind="receipt")
    assert receipt.subject == "領収書 2026-000042：会費のお支払いを確認しました"
    assert "お支払い金額: $200.00" in receipt.text_body
    assert "2027年1月31日" in receipt.text_body  # the new term's end, Japanese style


def test_password_reset_asked_from_an_english_page_is_in_japanese(client, japanese_member):
    response = client.post(
        reverse("account_reset_password"), {"email": japanese_member.email}, headers={"accept-language": "en"}
    )
    assert response.status_code == 302
    email = OutgoingEmail.objects.get(kind="account")
    # allauth's own Japanese catalogue.
    assert email.subject == "パスワード再設定メール"
