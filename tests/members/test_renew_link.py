"""The personal renew link in reminders: from the email to a paid receipt without a password, in at most three
portal pages; and every way a link can be wrong ends on a clear page that shows nobody's data."""

import datetime as dt
import re
import time

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.urls import reverse

from members.models import Membership, Order, OrderStatus, ReminderRule, RenewLink
from members.reminder_defaults import DEFAULT_RULES
from members.services.payments import order_mark_paid
from members.services.reminders import renewal_reminders_send
from members.services.renew_links import renew_links_create
from society.models import OutgoingEmail
from tests.clients import Client
from tests.factories import StaffFactory, TermFactory, UserFactory, price_matrix
from tests.members.stripe_server import FakeStripe
from tests.members.test_stripe import WEBHOOK_SECRET, completed_event, deliver

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LINK = re.compile(r"https?://[^\s\"<>]+/membership/renew/link/[^\s\"<>/]+/")


@pytest.fixture(autouse=True)
def frozen():
    # tick: allauth's MFA code check and the signing timestamp read the real clock's seconds.
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def full():
    return price_matrix("Full")["Full"]


def expiring_member(full, end=dt.date(2026, 3, 22), **fields):
    """A member whose term ends in 20 days (by default): inside the renewal window."""
    user = UserFactory(**{"country": "BR", **fields})
    TermFactory(membership=Membership.objects.create(user=user), membership_type=full, end=end)
    return user


def link_for(user) -> str:
    return renew_links_create(user_ids=[user.pk])[user.pk]


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_a_reminder_carries_a_personal_link_for_each_member(full):
    rules = [ReminderRule.objects.get_or_create(offset_days=r["offset_days"], defaults=r)[0] for r in DEFAULT_RULES]
    assert rules
    # Both terms end 30 days from now: the "30 days before the end" rule is due for both.
    first, second = expiring_member(full, end=dt.date(2026, 4, 1)), expiring_member(full, end=dt.date(2026, 4, 1))
    renewal_reminders_send(today=dt.date(2026, 3, 2))
    emails = {email.to: email for email in OutgoingEmail.objects.filter(kind="reminder")}
    assert set(emails) == {first.email, second.email}
    links = {to: LINK.search(email.text_body).group(0) for to, email in emails.items()}
    assert links[first.email] != links[second.email]
    assert links[first.email] in emails[first.email].html_body
    assert RenewLink.objects.filter(user=first).count() == 1


def test_from_the_link_to_a_paid_card_receipt_in_three_pages_without_a_password(client, full, settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    member = expiring_member(full)
    link = path_of(link_for(member))
    pages = []

    def page(response):
        assert response.status_code == 200
        pages.append(response)
        return response

    with FakeStripe() as fake:
        settings.STRIPE_API_BASE = fake.url
        page(client.get(link))  # 1: one button, so a mail scanner fetching the link uses nothing up
        response = client.post(link)
        assert response["Location"] == reverse("members:renew")
        renew = page(client.get(response["Location"]))  # 2: type preselected, price of the band, card or invoice
        assert renew.context["form"]["membership_type"].value() == full.pk
        assert b"$100.00" in renew.content
        assert {value for value, _label in renew.context["form"].fields["provider"].choices} == {"stripe", "invoice"}
        response = client.post(reverse("members:renew"), {"membership_type": full.pk, "provider": "stripe"})
        assert response["Location"].startswith("https://checkout.stripe.com/")
    # Stripe's page, then its webhook and its return to the order page.
    order = Order.objects.get()
    deliver(Client(), completed_event(order))  # Stripe's request, not the member's session
    receipt = page(client.get(f"{order.get_absolute_url()}?checkout=done"))  # 3
    assert b"Payment received" in receipt.content
    assert len(pages) == 3
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.term.start == dt.date(2026, 3, 23)


def test_paying_by_invoice_from_the_link_ends_on_the_receipt(client, full):
    member = expiring_member(full)
    link = path_of(link_for(member))
    client.post(link)
    response = client.post(reverse("members:renew"), {"membership_type": full.pk, "provider": "invoice"})
    order = Order.objects.get()
    assert response["Location"] == order.get_absolute_url()
    order_mark_paid(order=order, by=StaffFactory())
    receipt = client.get(order.get_absolute_url())
    assert receipt.status_code == 200
    assert f"Receipt {order.number}".encode() in receipt.content


def test_a_link_works_once(client, full):
    link = path_of(link_for(expiring_member(full)))
    assert client.post(link).status_code == 302
    client.logout()
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 410
        assert b"already used" in response.content
        assert b"Email me a new link" in response.content
    assert "_auth_user_id" not in client.session


def test_an_expired_link_is_gone_and_offers_a_new_one(client, full, settings):
    link = path_of(link_for(expiring_member(full)))
    with time_machine.travel(NOW + dt.timedelta(days=settings.RENEW_LINK_DAYS, seconds=5), tick=False):
        response = client.post(link)
    assert response.status_code == 410
    assert b"has expired" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "x" + t, lambda t: "junk"]
)
def test_a_tampered_link_is_refused_with_a_clear_page(client, full, mangle):
    member = expiring_member(full)
    token = link_for(member).rstrip("/").rsplit("/", 1)[1]
    response = client.post(reverse("members:renew-link", kwargs={"token": mangle(token)}))
    assert response.status_code == 400
    assert b"does not work" in response.content
    assert member.email.encode() not in response.content
    assert "_auth_user_id" not in client.session
    assert not RenewLink.objects.filter(used_at__isnull=False).exists()


def test_a_link_opened_in_another_members_session_shows_neither_and_stays_usable(client, full):
    owner, other = expiring_member(full, full_name="Owner Person"), expiring_member(full, full_name="Other Person")
    link = path_of(link_for(owner))
    client.force_login(other)
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 400
        assert b"another account" in response.content
        assert b"Owner Person" not in response.content
        assert owner.email.encode() not in response.content
    assert int(client.session["_auth_user_id"]) == other.pk
    assert RenewLink.objects.get().used_at is None


def test_the_owner_already_signed_in_goes_straight_to_the_renew_page(client, full):
    member = expiring_member(full)
    link = path_of(link_for(member))
    client.force_login(member)
    assert client.get(link)["Location"] == reverse("members:renew")
    assert RenewLink.objects.get().used_at is None


def test_a_staff_account_is_never_signed_in_by_a_link(client, full):
    staff = StaffFactory()
    TermFactory(membership=Membership.objects.create(user=staff), membership_type=full, end=dt.date(2026, 3, 22))
    response = client.post(path_of(link_for(staff)))
    assert response.status_code == 400
    assert b"Staff accounts sign in with their password" in response.content
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_a_member_with_an_authenticator_still_passes_mfa(client, full, settings):
    member = expiring_member(full)
    secret = generate_totp_secret()
    TOTP.activate(member, secret)
    response = client.post(path_of(link_for(member)))
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("members:renew")).status_code == 302  # not signed in yet
    code = format_hotp_value(hotp_value(secret, int(time.time()) // settings.MFA_TOTP_PERIOD))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response["Location"] == reverse("members:renew")
    assert client.get(reverse("members:renew")).status_code == 200


def test_a_link_session_is_for_renewing_only(client, full):
    member = expiring_member(full)
    client.post(path_of(link_for(member)))
    assert client.get(reverse("members:renew")).status_code == 200
    response = client.get(reverse("members:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    # Leaving the renewal pages signed the session out: the profile needs the password now.
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("members:renew")).status_code == 302


def test_a_normal_login_is_not_confined(client, full, password):
    member = expiring_member(full)
    response = client.post(reverse("account_login"), {"login": member.email, "password": password})
    assert response.status_code == 302
    assert client.get(reverse("members:profile")).status_code == 200


def test_asking_for_a_fresh_link_emails_members_only_and_says_the_same_to_everyone(client, full):
    member = expiring_member(full)
    url = reverse("members:renew-link-request")
    known = client.post(url, {"email": member.email.upper()})
    unknown = client.post(url, {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert b"If this address belongs to a member" in known.content
    assert known.content.replace(member.email.upper().encode(), b"") == unknown.content.replace(
        b"nobody@example.org", b""
    )
    email = OutgoingEmail.objects.get(kind="renew_link")
    assert email.to == member.email
    fresh = path_of(LINK.search(email.text_body).group(0))
    assert client.post(fresh)["Location"] == reverse("members:renew")


def test_fresh_links_are_rate_limited_per_address(client, full):
    member = expiring_member(full)
    url = reverse("members:renew-link-request")
    statuses = [client.post(url, {"email": member.email}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert OutgoingEmail.objects.filter(kind="renew_link").count() == 3


def test_a_bad_address_gets_the_form_back(client):
    response = client.post(reverse("members:renew-link-request"), {"email": "not an address"})
    assert response.status_code == 400
    assert b"Enter a valid email address" in response.content
    assert not OutgoingEmail.objects.exists()
