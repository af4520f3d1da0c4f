"""Multi-year and lifetime terms: a price per band and length, the term each buys, and a lifetime membership
that stays active, gets no reminders and cannot be renewed."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from members.models import Membership, MembershipStatus, Order, Price, ReminderRule, Term
from members.models.memberships import membership_status
from members.reminder_defaults import DEFAULT_RULES
from members.services.memberships import check_may_order, price_quote
from members.services.payments import order_create, order_mark_paid, order_refund
from members.services.reminders import reminders_due
from tests.factories import PriceFactory, StaffFactory, TermFactory, UserFactory, price_matrix

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def full():
    full = price_matrix("Full")["Full"]
    PriceFactory(membership_type=full, band="upper_middle", years=2, amount=Decimal("190.00"))
    PriceFactory(membership_type=full, band="upper_middle", years=3, amount=Decimal("270.00"))
    return full


@pytest.fixture
def lifetime():
    lifetime = price_matrix("Lifetime")["Lifetime"]
    lifetime.is_lifetime = True
    lifetime.save()
    return lifetime


def test_a_price_without_a_length_is_a_one_year_price_and_the_old_lookup_still_works(full):
    member = UserFactory(country="BR")
    assert Price.objects.filter(membership_type=full, band="high").get().years == 1
    quote = price_quote(user=member, membership_type=full)
    assert (quote.years, quote.amount) == (1, Decimal("100.00"))
    assert quote.term_prices == {1: Decimal("100.00"), 2: Decimal("190.00"), 3: Decimal("270.00")}


def test_each_length_has_one_price_per_band_and_only_one_to_three_years(full):
    with pytest.raises(IntegrityError), transaction.atomic():
        Price.objects.create(membership_type=full, band="upper_middle", years=2, amount=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Price.objects.create(membership_type=full, band="upper_middle", years=4, amount=Decimal("1.00"))


def test_a_two_year_order_costs_its_price_and_pays_for_two_years(full):
    member = UserFactory(country="BR")
    order = order_create(user=member, membership_type=full, provider="invoice", years=2)
    assert (order.years, order.amount) == (2, Decimal("190.00"))
    term = order_mark_paid(order=order, by=StaffFactory())
    assert (term.start, term.end) == (TODAY, dt.date(2028, 3, 1))


def test_renewing_for_three_years_continues_from_the_old_end(full):
    member = UserFactory(country="BR")
    TermFactory(membership=Membership.objects.create(user=member), membership_type=full, end=dt.date(2026, 3, 31))
    order = order_create(user=member, membership_type=full, provider="invoice", years=3)
    term = order_mark_paid(order=order, by=StaffFactory())
    assert (term.start, term.end) == (dt.date(2026, 4, 1), dt.date(2029, 3, 31))
    member.membership.refresh_from_db()
    assert member.membership.current_end == dt.date(2029, 3, 31)


def test_a_length_the_type_is_not_sold_in_is_refused_and_writes_nothing(full):
    member = UserFactory(country="DE")  # Full has no 2-year price in the high band
    with pytest.raises(ValidationError) as error:
        order_create(user=member, membership_type=full, provider="invoice", years=2)
    assert error.value.code == "no_term"
    assert not Order.objects.exists()


def test_the_renew_page_offers_the_lengths_and_orders_the_one_chosen(client, full):
    member = UserFactory(country="BR")
    TermFactory(membership=Membership.objects.create(user=member), membership_type=full, end=dt.date(2026, 3, 31))
    client.force_login(member)
    page = client.get("/membership/renew/")
    assert page.context["form"].offers_years
    assert b"2 years: $190.00" in page.content
    response = client.post("/membership/renew/", {"membership_type": full.pk, "years": 3, "provider": "invoice"})
    order = Order.objects.get()
    assert response["Location"] == order.get_absolute_url()
    assert (order.years, order.amount) == (3, Decimal("270.00"))


def test_a_lifetime_term_has_no_end_and_its_membership_stays_active(lifetime):
    member = UserFactory(country="BR")
    order = order_create(user=member, membership_type=lifetime, provider="invoice", years=3)
    assert order.years == 1  # one price, whatever length was asked
    term = order_mark_paid(order=order, by=StaffFactory())
    assert (term.start, term.end, term.is_lifetime) == (TODAY, None, True)
    for when in (NOW, NOW + dt.timedelta(days=365 * 40)):
        with time_machine.travel(when, tick=False):
            membership = Membership.objects.with_status().get(user=member)
            assert membership.lifetime
            assert membership.status == MembershipStatus.ACTIVE
            assert Membership.objects.with_access().filter(pk=membership.pk).exists()
            assert membership_status(today=when.date(), last_end=None, lifetime=True) == MembershipStatus.ACTIVE
    with pytest.raises(ValidationError) as error:
        check_may_order(membership=membership)
    assert error.value.code == "lifetime"


def test_lifetime_after_a_finite_term_starts_when_it_ends_and_nothing_may_follow(full, lifetime):
    member = UserFactory(country="BR")
    membership = Membership.objects.create(user=member)
    TermFactory(membership=membership, membership_type=full, end=dt.date(2026, 3, 31))
    term = order_mark_paid(
        order=order_create(user=member, membership_type=lifetime, provider="invoice"), by=StaffFactory()
    )
    assert (term.start, term.end) == (dt.date(2026, 4, 1), None)
    # The open range [start, infinity) keeps the no-overlap constraint: no counting term may start later.
    with pytest.raises(IntegrityError), transaction.atomic():
        Term.objects.create(
            membership=membership, membership_type=full, start=dt.date(2060, 1, 1), end=dt.date(2060, 12, 31)
        )


def test_lifetime_members_get_no_reminders(full, lifetime):
    rules = [ReminderRule.objects.get_or_create(offset_days=r["offset_days"], defaults=r)[0] for r in DEFAULT_RULES]
    ordinary, for_life = UserFactory(country="BR"), UserFactory(country="BR")
    for member in (ordinary, for_life):
        TermFactory(membership=Membership.objects.create(user=member), membership_type=full, end=TODAY)
    order_mark_paid(order=order_create(user=for_life, membership_type=lifetime, provider="invoice"), by=None)
    due = {term.membership.user for term in reminders_due(today=TODAY, rules=rules)}
    assert due == {ordinary}


def test_refunding_a_lifetime_order_ends_the_lifetime(lifetime):
    member = UserFactory(country="BR")
    order = order_create(user=member, membership_type=lifetime, provider="invoice")
    order_mark_paid(order=order, by=None)
    order_refund(order=order, reason="Paid twice", by=StaffFactory())
    membership = Membership.objects.with_status().get(user=member)
    assert not membership.lifetime
    assert membership.status == MembershipStatus.PENDING


def test_exports_and_the_admin_list_show_lifetime(admin_client, lifetime):
    member = UserFactory(email="forlife@example.org", country="BR")
    order_mark_paid(order=order_create(user=member, membership_type=lifetime, provider="invoice"), by=None)
    response = admin_client.get("/admin/members/membership/export/")
    lines = b"".join(response.streaming_content).decode().splitlines()
    row = next(line for line in lines if line.startswith("forlife@example.org,"))
    assert ",Active," in row
    assert ",Lifetime," in row
    assert b"Lifetime" in admin_client.get("/admin/members/membership/").content
