"""Staff see a member on one page: the person, the membership, terms, orders, reminders and the emails sent."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from members.models import Membership, OrderStatus
from society.models import OutgoingEmail
from tests.factories import OrderFactory, StaffFactory, TermFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 11, 25)


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def ines(db):
    user = UserFactory(full_name="Inês Prata", email="ines@example.org", country="PT", institution="i3S Porto")
    membership = Membership.objects.create(user=user)
    TermFactory(membership=membership, end=TODAY + datetime.timedelta(days=20))
    OrderFactory(membership=membership, number="2026-004242", status=OrderStatus.PAID, paid_at=NOW)
    return membership


@time_machine.travel(NOW, tick=False)
def test_membership_page_shows_the_person_the_membership_and_their_latest_emails(admin_client, ines):
    renewal = OutgoingEmail.objects.create(to="ines@example.org", subject="Your membership ends soon", text_body="…")
    OutgoingEmail.objects.create(to="someone@example.org", subject="Somebody else's receipt", text_body="…")

    page = admin_client.get(reverse("admin:members_membership_change", args=[ines.pk])).content.decode()

    summary = page[page.index('class="member-summary"') :]
    user_url = reverse("admin:members_user_change", args=[ines.user.pk])
    assert f'<a href="{user_url}">Inês Prata</a>' in summary
    for fact in ["ines@example.org", "Portugal", "i3S Porto", "Expiring soon", "Dec. 15, 2026"]:
        assert fact in summary, fact
    email_url = reverse("admin:society_outgoingemail_change", args=[renewal.pk])
    assert f'<a href="{email_url}">Your membership ends soon</a>' in summary
    assert "Somebody else" not in page
    assert f"{reverse('admin:society_outgoingemail_changelist')}?q=ines%40example.org" in summary
    # Terms, orders and reminders are on the same page, and the summary links to each.
    for prefix in ["terms", "orders", "reminder_deliveries"]:
        assert f'id="{prefix}-heading"' in page
        assert f'href="#{prefix}-heading"' in summary
    assert "2026-004242" in page


@time_machine.travel(NOW, tick=False)
def test_membership_page_lists_only_the_ten_latest_emails(admin_client, ines):
    for number in range(12):
        OutgoingEmail.objects.create(to=ines.user.email, subject=f"Notice {number:02d}", text_body="…")
    page = admin_client.get(reverse("admin:members_membership_change", args=[ines.pk])).content.decode()
    assert "Notice 11" in page
    assert "Notice 01" not in page
    assert "All emails to this address" in page


def test_user_page_leads_to_the_members_page(admin_client, ines):
    page = admin_client.get(reverse("admin:members_user_change", args=[ines.user.pk])).content.decode()
    assert reverse("admin:members_membership_change", args=[ines.pk]) in page
    without = UserFactory()
    page = admin_client.get(reverse("admin:members_user_change", args=[without.pk])).content.decode()
    assert "No membership" in page


@time_machine.travel(NOW, tick=False)
def test_membership_changelist_shows_the_email_under_the_name(admin_client, ines):
    page = admin_client.get(reverse("admin:members_membership_changelist")).content.decode()
    assert 'Inês Prata<br><span class="member-email">ines@example.org</span>' in page
