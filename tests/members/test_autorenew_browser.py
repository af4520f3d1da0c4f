"""Auto-renew in a real browser: the section on /membership/, turning it off with the keyboard, and the
one-click link's confirmation page, each with axe finding nothing."""

import pytest

from members.models import AutoRenew, Membership
from members.services.autorenew import off_link_token
from tests.factories import TermFactory, UserFactory, price_matrix
from tests.members.test_browser_memberships import log_in, tab_to

pytestmark = pytest.mark.browser


@pytest.fixture
def membership(db, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    full = price_matrix("Full")["Full"]
    membership = Membership.objects.create(user=UserFactory(country="DE"))
    TermFactory(membership=membership, membership_type=full)
    AutoRenew.objects.create(
        membership=membership,
        enabled=True,
        stripe_customer="cus_test0000000001",
        payment_method="pm_card_visa",
        card_brand="visa",
        card_last4="4242",
        card_exp_month=12,
        card_exp_year=2034,
    )
    return membership


def test_member_turns_auto_renew_off_on_the_membership_page_with_the_keyboard(page, axe, live_server, membership):
    log_in(page, membership.user, live_server)
    page.goto("/membership/")
    assert "Visa card ending 4242 (expires 12/2034)" in page.locator("#auto-renew").inner_text()
    axe(page)
    tab_to(page, "#auto-renew button")
    page.keyboard.press("Enter")
    page.get_by_text("Auto-renew is off. Your card will not be charged.").wait_for()
    assert "Turn auto-renew on" in page.locator("#auto-renew").inner_text()
    assert not AutoRenew.objects.get().enabled
    axe(page)


def test_the_one_click_off_link_asks_then_turns_it_off(page, axe, live_server, membership):
    page.goto(f"/membership/auto-renew/off/{off_link_token(membership=membership)}/")
    axe(page)
    page.locator("main button").click()
    page.get_by_text("Auto-renew is off. Your card will not be charged.").wait_for()
    assert not AutoRenew.objects.get().enabled
    axe(page)
