"""Join and renew in a real browser, with the keyboard only; staff mark an invoice paid in the admin."""

import datetime

import pytest
from django.conf import settings

from members.models import Membership, Order, OrderStatus
from members.models.memberships import society_today
from tests.clients import Client
from tests.factories import StaffFactory, TermFactory, UserFactory, price_matrix

pytestmark = pytest.mark.browser


def log_in(page, user, live_server):
    """Reuse a session made by Django's test client (MFA and password screens are not under test here)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.clear_cookies()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def tab_to(page, selector, limit=60):
    """Press Tab until the element matching `selector` has focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never received focus")


def test_new_member_joins_with_the_keyboard_only(page, axe, live_server):
    types = price_matrix("Student", "Full")
    user = UserFactory(country="KE")
    log_in(page, user, live_server)
    page.goto("/membership/")
    axe(page)
    tab_to(page, 'a[href="/membership/join/"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/membership/join/")
    assert "Kenya" in page.content()
    axe(page)
    # Tab enters the radio group on its first option (Student); the arrow key moves to and selects Full.
    tab_to(page, f'input[name="membership_type"][value="{types["Student"].pk}"]')
    page.keyboard.press("ArrowDown")
    assert page.locator(f'input[name="membership_type"][value="{types["Full"].pk}"]').is_checked()
    tab_to(page, 'main button[type="submit"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/membership/orders/**")
    order = Order.objects.get()
    assert (order.membership_type.name, order.band, order.provider) == ("Full", "lower_middle", "invoice")
    assert page.locator("h1").inner_text() == f"Invoice {order.number}"
    axe(page)


def test_member_renews_by_invoice_staff_marks_it_paid_and_member_sees_new_end(page, axe, live_server):
    types = price_matrix("Full")
    member = UserFactory(country="DE")
    old_end = society_today() + datetime.timedelta(days=20)
    TermFactory(membership=Membership.objects.create(user=member), membership_type=types["Full"], end=old_end)

    log_in(page, member, live_server)
    page.goto("/membership/")
    assert page.locator(".badge").inner_text() == "Expiring soon"
    tab_to(page, 'a[href="/membership/renew/"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/membership/renew/")
    axe(page)
    # The current type is preselected; the invoice is the only method without Stripe keys.
    assert page.locator(f'input[name="membership_type"][value="{types["Full"].pk}"]').is_checked()
    tab_to(page, 'main button[type="submit"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/membership/orders/**")
    order = Order.objects.get(status=OrderStatus.PENDING)
    assert "IBAN" in page.content()

    log_in(page, StaffFactory(is_superuser=True), live_server)
    page.goto("/admin/members/order/")
    page.locator(f'input.action-select[value="{order.pk}"]').check()
    page.select_option('select[name="action"]', "mark_paid")
    page.locator('button[name="index"]').click()
    page.get_by_label("Reference").fill("TRF-2026-0042")
    page.get_by_role("button", name="Mark paid").click()
    page.get_by_text("1 invoice marked paid.").wait_for()

    log_in(page, member, live_server)
    page.goto("/membership/")
    new_end = old_end.replace(year=old_end.year + 1)
    order.refresh_from_db()
    assert order.term.end == new_end
    summary = page.locator(".membership-summary").inner_text()
    assert new_end.strftime("%Y") in summary
    assert page.locator(".badge").inner_text() == "Active"
    axe(page)


def test_refunded_order_on_a_phone_needs_no_sideways_scrolling(page, axe, live_server):
    from members.services.payments import order_create, order_mark_paid, order_refund

    full = price_matrix("Full")["Full"]
    member = UserFactory(country="DE")
    membership = Membership.objects.create(user=member)
    TermFactory(membership=membership, membership_type=full, end=society_today() + datetime.timedelta(days=30))
    order = order_create(user=member, membership_type=full, provider="invoice")
    order_mark_paid(order=order)
    order_refund(order=order, reason="Paid twice", by=None)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, member, live_server)
    page.goto("/membership/")
    refunded_row = page.locator("tr.is-refunded")
    assert "Refunded" in refunded_row.inner_text()
    assert "voided by the refund" in refunded_row.inner_text()
    # The table stacks into labelled rows: nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("document.querySelector('.table-wrap').scrollWidth") <= page.evaluate(
        "document.querySelector('.table-wrap').clientWidth"
    )
    assert page.locator("tr.is-refunded td").first.evaluate("td => getComputedStyle(td, '::before').content") == (
        '"Number"'
    )
    axe(page)
