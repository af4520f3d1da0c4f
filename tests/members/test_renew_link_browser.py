"""From a reminder read off a real SMTP server to the receipt in a real browser, with its time printed."""

import datetime
import re
import time

import pytest

from members.models import Membership, Order, ReminderRule
from members.models.memberships import society_today
from members.reminder_defaults import DEFAULT_RULES
from members.services.payments import order_mark_paid
from members.services.reminders import renewal_reminders_send
from society.models import OutgoingEmail
from society.services.mail import outgoing_email_send
from tests.factories import StaffFactory, TermFactory, UserFactory, price_matrix

pytestmark = pytest.mark.browser


def test_from_the_reminder_email_to_the_receipt_without_a_password(page, axe, live_server, smtp_server, settings):
    settings.SITE_URL = live_server.url
    for rule in DEFAULT_RULES:
        ReminderRule.objects.get_or_create(offset_days=rule["offset_days"], defaults=rule)
    full = price_matrix("Full")["Full"]
    member = UserFactory(country="DE")
    # Ends in 30 days: the "30 days before the end" reminder is due today.
    end = society_today() + datetime.timedelta(days=30)
    TermFactory(membership=Membership.objects.create(user=member), membership_type=full, end=end)

    renewal_reminders_send()
    for pk in OutgoingEmail.objects.queued().values_list("pk", flat=True):
        outgoing_email_send(email_id=pk)
    assert smtp_server.handler.recipients() == {member.email: 1}
    text = smtp_server.handler.messages[0].get_body(("plain",)).get_content()
    link = re.search(rf"{re.escape(live_server.url)}/membership/renew/link/[^\s/]+/", text).group(0)

    visited = []
    page.on("framenavigated", lambda frame: visited.append(frame.url.split("?")[0]))
    started = time.monotonic()
    page.goto(link)
    axe(page)
    page.get_by_role("button", name="Continue to renewal").click()
    page.wait_for_url("**/membership/renew/")
    axe(page)
    # The current type is preselected at the price of the member's band; without Stripe keys, the invoice.
    assert page.locator(f'input[name="membership_type"][value="{full.pk}"]').is_checked()
    assert "$200.00" in page.locator(".type-choices").inner_text()
    page.locator('main button[type="submit"]').click()
    page.wait_for_url("**/membership/orders/**")
    axe(page)
    order = Order.objects.get()
    # The office records the bank transfer; the member's page is now the receipt.
    order_mark_paid(order=order, by=StaffFactory())
    page.reload()
    assert page.locator("h1").inner_text() == f"Receipt {order.number}"
    elapsed = time.monotonic() - started
    axe(page)
    pages = list(dict.fromkeys(visited))
    print(f"\nReminder link to receipt: {elapsed:.1f} s, {len(pages)} portal pages, no password")
    assert pages == [link, f"{live_server.url}/membership/renew/", f"{live_server.url}{order.get_absolute_url()}"]
