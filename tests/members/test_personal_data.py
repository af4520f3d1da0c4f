import datetime
import json
from decimal import Decimal

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.socialaccount.models import SocialAccount
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from guidelines.models import AlertSubscription
from members.models import Order, OrderStatus, PaymentProvider, Term, User
from members.services.accounts import MESSAGE_STAFF_CANNOT_BE_ERASED, user_erase, user_export_data
from society.models import OutgoingEmail, OutgoingEmailStatus
from society.services.mail import email_enqueue
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, StaffFactory, TermFactory, UserFactory
from tests.guidelines.alerts import follow
from tests.guidelines.factories import build_edition

pytestmark = pytest.mark.django_db


def member_with_records(orcid="0000-0002-1825-0097", **user_fields):
    user = UserFactory(orcid=orcid, institution="Universidade de São Paulo", **user_fields)
    EmailAddress.objects.create(user=user, email=f"second-{user.pk}@lab.example", verified=False, primary=False)
    SocialAccount.objects.create(user=user, provider="orcid", uid=orcid, extra_data={})
    membership = MembershipFactory(user=user)
    term = TermFactory(membership=membership)
    order = Order.objects.create(
        number=f"2026-{user.pk:05d}",
        membership=membership,
        membership_type=term.membership_type,
        country="BR",
        band="upper_middle",
        amount=Decimal("85.00"),
        currency="USD",
        status=OrderStatus.PAID,
        paid_at=timezone.now(),
        provider=PaymentProvider.STRIPE,
        created_by=user,
    )
    term.order = order
    term.save(update_fields=["order"])
    return user


def test_export_contains_the_members_data_and_nobody_elses():
    user = member_with_records(full_name="Ana Paula Ferreira da Silva")
    other = member_with_records(full_name="Somebody Else", orcid="0000-0002-1694-233X")
    data = user_export_data(user=user)

    assert data["account"]["email"] == user.email
    assert data["profile"]["full_name"] == "Ana Paula Ferreira da Silva"
    assert data["profile"]["orcid"] == "0000-0002-1825-0097"
    assert {address["email"] for address in data["email_addresses"]} == {user.email, f"second-{user.pk}@lab.example"}
    assert data["social_accounts"] == [
        {"provider": "orcid", "uid": "0000-0002-1825-0097", "date_joined": data["social_accounts"][0]["date_joined"]}
    ]
    assert [order["number"] for order in data["orders"]] == [f"2026-{user.pk:05d}"]
    assert data["orders"][0]["amount"] == "85.00"
    assert len(data["membership"]["terms"]) == 1
    serialised = json.dumps(data, ensure_ascii=False)
    assert other.email not in serialised
    assert "Somebody Else" not in serialised
    assert f"2026-{other.pk:05d}" not in serialised
    assert user.password not in serialised


def test_export_download_requires_recent_authentication(client):
    user = member_with_records()
    client.force_login(user)
    response = client.get(reverse("members:profile-export"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))

    client.post(response["Location"], {"password": DEFAULT_PASSWORD})
    response = client.get(reverse("members:profile-export"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.content)["account"]["email"] == user.email


def test_erasure_removes_personal_data_and_keeps_order_amounts():
    user = member_with_records(full_name="Nguyễn Thị Minh Khai", directory_visible=True)
    TOTP.activate(user, generate_totp_secret())
    order_before = Order.objects.get(membership__user=user)

    user_erase(user=user)

    user.refresh_from_db()
    assert user.erased_at is not None
    assert user.full_name == ""
    assert user.institution == ""
    assert user.orcid == ""
    assert user.directory_visible is False
    assert user.email.endswith("@erased.invalid")
    assert not user.is_active
    assert not user.has_usable_password()
    assert str(user) == f"Erased member #{user.pk}"
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not SocialAccount.objects.filter(user=user).exists()
    assert not Authenticator.objects.filter(user=user).exists()
    # No history row keeps the old name or address.
    assert not user.history.filter(full_name="Nguyễn Thị Minh Khai").exists()
    assert user.history.count() == 1

    order = Order.objects.get(pk=order_before.pk)
    assert (order.number, order.amount, order.currency, order.paid_at) == (
        order_before.number,
        Decimal("85.00"),
        "USD",
        order_before.paid_at,
    )
    assert order.created_by is None
    assert order.membership.user_id == user.pk
    assert Term.objects.filter(membership__user=user).count() == 1


def test_staff_cannot_be_erased():
    staff = StaffFactory()
    with pytest.raises(ValidationError) as error:
        user_erase(user=staff)
    assert error.value.messages == [str(MESSAGE_STAFF_CANNOT_BE_ERASED)]
    staff.refresh_from_db()
    assert staff.erased_at is None


def test_delete_page_requires_reauthentication_and_the_typed_email(client):
    user = member_with_records()
    client.force_login(user)
    url = reverse("members:profile-delete")
    assert client.get(url)["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})

    response = client.post(url, {"confirmation": "not my address"})
    assert response.status_code == 200
    assert "confirmation" in response.context["form"].errors
    assert User.objects.get(pk=user.pk).erased_at is None

    response = client.post(url, {"confirmation": user.email.upper()})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).erased_at is not None
    # Logged out, and the old password no longer works.
    assert client.get(reverse("members:profile")).status_code == 302
    assert not client.login(email=user.email, password=DEFAULT_PASSWORD)


def test_erased_members_show_as_erased_in_admin(client):
    user = member_with_records(full_name="Jürgen Müller")
    user_erase(user=user)
    admin = StaffFactory(is_superuser=True)
    client.force_login(admin)
    body = client.get("/admin/members/user/?erased=yes").content.decode()
    assert f"Erased member #{user.pk}" in body
    assert "Jürgen" not in body


def test_erasure_time_is_recorded(client):
    user = member_with_records()
    moment = datetime.datetime(2026, 3, 1, 9, tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        user_erase(user=user)
    user.refresh_from_db()
    assert user.erased_at == moment


def test_export_lists_the_emails_sent_to_any_of_the_members_addresses_only():
    user = member_with_records()
    other = member_with_records(orcid="0000-0002-1694-233X")
    email_enqueue(to=user.email.upper(), subject="Your receipt", text="Paid.", kind="receipt")
    email_enqueue(to=f"second-{user.pk}@lab.example", subject="Please verify", text="Link.", kind="account")
    email_enqueue(to=other.email, subject="Not yours", text="Other.", kind="receipt")

    emails = user_export_data(user=user)["emails_sent"]

    assert sorted(email["subject"] for email in emails) == ["Please verify", "Your receipt"]
    assert all(email["status"] == "queued" for email in emails)


def test_erasure_blanks_the_members_emails_and_stops_unsent_ones():
    user = member_with_records()
    address = user.email
    queued = email_enqueue(to=address, subject="Renew now, Ana", text="Dear Ana", kind="reminder")
    other = email_enqueue(to="someone@else.example", subject="Hello", text="Hi", kind="reminder")

    user_erase(user=user)

    queued.refresh_from_db()
    assert (queued.to, queued.subject, queued.text_body) == (User.objects.get(pk=user.pk).email, "", "")
    assert queued.status == OutgoingEmailStatus.FAILED
    assert not OutgoingEmail.objects.filter(to__iexact=address).exists()
    other.refresh_from_db()
    assert (other.subject, other.status) == ("Hello", OutgoingEmailStatus.QUEUED)


def test_erasure_deletes_the_guideline_alerts_of_the_account_and_its_addresses():
    user = member_with_records()
    edition = build_edition(provisions=4)
    by_address = follow(user.email, edition)
    by_account = follow("old-address@lab.example", edition, "part-1")
    AlertSubscription.objects.filter(pk=by_account.pk).update(user=user)
    someone_else = follow("someone@else.example", edition)

    user_erase(user=user)

    assert list(AlertSubscription.objects.all()) == [someone_else]
    assert not AlertSubscription.objects.filter(pk=by_address.pk).exists()
