"""Renewing in one click with the card saved for auto-renew: charged on the page, paid once, or handed to
Stripe's page when the bank wants the member to confirm; declines and outages change nothing."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from members.models import Order, OrderStatus, Term
from tests.members.test_autorenew import END, member_with_auto_renew

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

# Inside the renewal window of a term ending END, well before any auto-renew charge.
TODAY = END - datetime.timedelta(days=40)


@pytest.fixture
def full():
    from tests.factories import price_matrix

    return price_matrix("Full")["Full"]


def renew(client, membership, provider="saved_card"):
    client.force_login(membership.user)
    return client.post(
        reverse("members:renew"), {"membership_type": membership.terms.get().membership_type_id, "provider": provider}
    )


@time_machine.travel(TODAY, tick=False)
def test_the_renew_page_offers_the_saved_card_first_and_one_click_pays(client, full, fake_stripe):
    membership = member_with_auto_renew(full)
    client.force_login(membership.user)
    page = client.get(reverse("members:renew"))
    choices = page.context["form"].fields["provider"].choices
    assert choices[0] == ("saved_card", "Your saved card: Visa ending in 4242, expires 12/2034")
    response = renew(client, membership)
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert order.status == OrderStatus.PAID
    assert Term.objects.filter(membership=membership).count() == 2
    [intent] = fake_stripe.charges()
    assert (intent["customer"], intent["payment_method"]) == ("cus_test0000000001", "pm_card_visa")
    assert intent["amount"] == int(order.amount * 100)
    [request] = [r for r in fake_stripe.requests if r["path"] == "/v1/payment_intents"]
    assert request["headers"]["Idempotency-Key"] == f"saved-card-{order.number}"
    assert request["form"]["confirm"] == "true"


@time_machine.travel(TODAY, tick=False)
def test_a_declined_saved_card_says_so_and_adds_no_term(client, full, fake_stripe):
    membership = member_with_auto_renew(full, card="pm_card_chargeDeclined")
    response = renew(client, membership)
    assert response.status_code == 200
    assert "Your saved card was declined" in response.content.decode()
    assert Term.objects.filter(membership=membership).count() == 1
    assert not Order.objects.filter(status=OrderStatus.PAID).exists()


@time_machine.travel(TODAY, tick=False)
def test_a_bank_asking_for_confirmation_sends_the_member_to_stripes_page(client, full, fake_stripe):
    membership = member_with_auto_renew(full, card="pm_card_authenticationRequired")
    response = renew(client, membership)
    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.com/")
    assert Term.objects.filter(membership=membership).count() == 1


@time_machine.travel(TODAY, tick=False)
def test_stripe_not_answering_changes_nothing(client, full, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    membership = member_with_auto_renew(full)
    response = renew(client, membership)
    assert response.status_code == 200
    assert "The card payment service is not answering" in response.content.decode()
    assert not Order.objects.filter(status=OrderStatus.PAID).exists()


@time_machine.travel(TODAY, tick=False)
def test_an_expired_or_missing_card_is_not_offered_and_cannot_be_posted(client, full, fake_stripe):
    membership = member_with_auto_renew(full, exp=(1, 2026))  # expired before TODAY
    client.force_login(membership.user)
    choices = client.get(reverse("members:renew")).context["form"].fields["provider"].choices
    assert "saved_card" not in dict(choices)
    response = renew(client, membership)
    assert response.status_code == 200
    assert response.context["form"].errors["provider"]
    assert not Order.objects.exists()
    assert fake_stripe.charges() == []
