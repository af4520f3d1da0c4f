import os
import re
import subprocess
import sys

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from members.forms.accounts import ProfileForm
from members.models import User
from members.services.accounts import groups_sync
from members.validators import (
    MESSAGE_NAME_MARKUP,
    MESSAGE_ORCID_CHECKSUM,
    MESSAGE_ORCID_FORMAT,
    orcid_normalise,
    validate_orcid,
)
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

SIGNUP_URL = "/accounts/signup/"
LOGIN_URL = "/accounts/login/"


def signup_data(**overrides):
    return {
        "email": "ana@lab.example",
        "full_name": "Nguyễn Thị Minh Khai",
        "country": "VN",
        "password1": DEFAULT_PASSWORD,
        "password2": DEFAULT_PASSWORD,
        **overrides,
    }


# --- ORCID validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("0000 0002 1825 0097", "0000-0002-1825-0097"),
        ("000000021694233x", "0000-0002-1694-233X"),
    ],
)
def test_orcid_is_normalised_and_accepted(raw, normalised):
    assert orcid_normalise(raw) == normalised
    validate_orcid(normalised)


def test_orcid_with_a_wrong_check_digit_is_refused_with_a_clear_message(member):
    form = ProfileForm(data={**profile_data(member), "orcid": "0000-0002-1825-0098"}, instance=member)
    assert not form.is_valid()
    assert form.errors["orcid"] == [str(MESSAGE_ORCID_CHECKSUM)]


@pytest.mark.parametrize("raw", ["0000-0002-1825", "orcid:abcd", "0000-0002-1825-00977", "X000-0002-1825-0097"])
def test_malformed_orcid_is_refused_with_the_format_message(member, raw):
    form = ProfileForm(data={**profile_data(member), "orcid": raw}, instance=member)
    assert not form.is_valid()
    assert form.errors["orcid"] == [str(MESSAGE_ORCID_FORMAT)]


def test_orcid_taken_by_another_member_is_refused(member):
    UserFactory(orcid="0000-0002-1825-0097")
    form = ProfileForm(data={**profile_data(member), "orcid": "https://orcid.org/0000-0002-1825-0097"}, instance=member)
    assert not form.is_valid()
    assert "orcid" in form.errors or "__all__" in form.errors


# --- Sign-up ---------------------------------------------------------------------------------


def test_signup_stores_name_and_country_and_sends_a_verification_email(client):
    response = client.post(SIGNUP_URL, signup_data())
    assert response.status_code == 302
    user = User.objects.get(email="ana@lab.example")
    assert user.full_name == "Nguyễn Thị Minh Khai"
    assert user.country.code == "VN"
    assert user.profile_updated_at is not None
    assert EmailAddress.objects.get(user=user).verified is False
    # One save: the account is inserted with its name and country, never without them.
    assert [(row.history_type, row.full_name, row.country.code) for row in user.history.all()] == [
        ("+", "Nguyễn Thị Minh Khai", "VN")
    ]
    deliver_outbox()
    assert len(mail.outbox) == 1
    assert "ana@lab.example" in mail.outbox[0].to


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"full_name": "x" * 201}, "full_name"),
        ({"full_name": "<script>alert(1)</script>"}, "full_name"),
        ({"full_name": "   "}, "full_name"),
        ({"country": "XX"}, "country"),
        ({"country": "Germany"}, "country"),
        ({"country": ""}, "country"),
    ],
)
def test_signup_with_bad_input_shows_a_form_error_and_writes_nothing(client, overrides, field):
    response = client.post(SIGNUP_URL, signup_data(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert User.objects.count() == 0
    assert EmailAddress.objects.count() == 0
    deliver_outbox()
    assert mail.outbox == []


def test_signup_with_a_nul_byte_gets_the_bad_request_page_and_writes_nothing(client):
    # Refused before the form for every view (society.middleware): no person types a NUL byte.
    response = client.post(SIGNUP_URL, signup_data(full_name="Ana\x00Lima"))
    assert response.status_code == 400
    assert "not valid text" in response.content.decode()
    assert User.objects.count() == 0
    assert EmailAddress.objects.count() == 0


def test_html_in_a_name_is_refused_and_shown_escaped(client):
    response = client.post(SIGNUP_URL, signup_data(full_name='<img src=x onerror="alert(1)">'))
    assert response.context["form"].errors["full_name"] == [str(MESSAGE_NAME_MARKUP)]
    body = response.content.decode()
    assert '<img src=x onerror="alert(1)">' not in body
    assert "&lt;img src=x" in body


def test_signup_with_an_existing_email_does_not_reveal_the_account(client):
    UserFactory(email="ana@lab.example")
    response = client.post(SIGNUP_URL, signup_data())
    # The same redirect to "check your email" as a fresh sign-up; the owner gets an email instead.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert User.objects.filter(email__iexact="ana@lab.example").count() == 1


def test_login_of_an_unknown_address_and_a_wrong_password_answer_alike(client):
    UserFactory(email="ana@lab.example")
    unknown = client.post(LOGIN_URL, {"login": "nobody@lab.example", "password": "wrong password"})
    wrong = client.post(LOGIN_URL, {"login": "ana@lab.example", "password": "wrong password"})
    assert unknown.status_code == wrong.status_code == 200
    assert unknown.context["form"].errors == wrong.context["form"].errors


def test_password_reset_answers_the_same_for_unknown_addresses(client):
    UserFactory(email="ana@lab.example")
    known = client.post("/accounts/password/reset/", {"email": "ana@lab.example"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@lab.example"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_unverified_user_cannot_log_in_or_reach_member_pages(client):
    user = UserFactory(email="ana@lab.example", verified=False)
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    response = client.post(LOGIN_URL, {"login": "ana@lab.example", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get(reverse("members:profile")).status_code == 302

    # Even with a session (e.g. created before verification became mandatory), member pages stay closed.
    client.force_login(user)
    for name in ["members:profile", "members:directory", "members:profile-export"]:
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert "account/verified_email_required.html" in [t.name for t in response.templates]


def test_login_rate_limit_answers_429_in_the_site_layout(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}
    statuses = [
        client.post(LOGIN_URL, {"login": "ana@lab.example", "password": "wrong password"}).status_code
        for _attempt in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    response = client.post(LOGIN_URL, {"login": "ana@lab.example", "password": "wrong password"})
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many attempts" in body
    assert 'class="site-header"' in body


PROXY = "10.0.0.2"  # REMOTE_ADDR of every request that comes through the TLS proxy


def failed_logins_from(client, forwarded_for, attempts):
    return [
        client.post(
            LOGIN_URL,
            {"login": "ana@lab.example", "password": "wrong password"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=forwarded_for,
        ).status_code
        for _attempt in range(attempts)
    ]


def test_behind_the_proxy_each_client_has_its_own_login_limit(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}
    assert failed_logins_from(client, "203.0.113.7", 4) == [200, 200, 200, 429]
    assert failed_logins_from(client, "198.51.100.9", 1) == [200]
    # The proxy appends what it saw: an address the client wrote in front of it changes nothing.
    assert failed_logins_from(client, "192.0.2.1, 203.0.113.7", 1) == [429]


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}
    assert failed_logins_from(client, "203.0.113.7", 3) == [200, 200, 200]
    # A client cannot buy more attempts by writing a new address in the header.
    assert failed_logins_from(client, "198.51.100.9", 1) == [429]


@pytest.mark.parametrize(("environment", "count"), [({}, 0), ({"TRUSTED_PROXY_COUNT": "1"}, 1)])
def test_trusted_proxy_count_comes_from_the_environment(environment, count):
    env = {key: value for key, value in os.environ.items() if key != "TRUSTED_PROXY_COUNT"}
    script = "from django.conf import settings; print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        env={**env, **environment, "DJANGO_SETTINGS_MODULE": "society.settings.production", "SECRET_KEY": "x" * 50},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == str(count)


# --- Staff and admin -------------------------------------------------------------------------


def activate_totp(user):
    return TOTP.activate(user, generate_totp_secret())


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_staff_without_mfa_is_sent_to_mfa_setup_before_any_admin_page(client):
    client.force_login(StaffFactory(mfa=False))
    for url in ["/admin/", "/admin/members/user/", "/admin/members/order/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")


def test_staff_with_mfa_opens_the_admin(client):
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_member_is_refused_the_admin_with_the_403_page(client_logged_in):
    response = client_logged_in.get("/admin/login/?next=/admin/")
    assert response.status_code == 403
    assert 'class="site-header"' in response.content.decode()


def test_user_admin_filters_search_and_never_shows_the_password_hash(client, django_assert_max_num_queries):
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    with_mfa = UserFactory(full_name="Σωκράτης Παπαδόπουλος", orcid="0000-0002-1825-0097")
    activate_totp(with_mfa)
    unverified = UserFactory(verified=False)
    UserFactory.create_batch(30)

    with django_assert_max_num_queries(12):
        response = client.get("/admin/members/user/")
    assert response.status_code == 200

    assert list(client.get("/admin/members/user/?mfa=yes").context["cl"].result_list) == sorted(
        [staff, with_mfa], key=lambda user: user.email
    )
    assert unverified in client.get("/admin/members/user/?verified_email=no").context["cl"].result_list
    assert list(client.get("/admin/members/user/?q=0000-0002-1825-0097").context["cl"].result_list) == [with_mfa]
    by_url = client.get("/admin/members/user/", {"q": "https://orcid.org/0000-0002-1825-0097"})
    assert list(by_url.context["cl"].result_list) == [with_mfa]
    assert list(client.get("/admin/members/user/", {"q": "σωκράτης"}).context["cl"].result_list) == [with_mfa]

    change = client.get(f"/admin/members/user/{with_mfa.pk}/change/").content.decode()
    assert with_mfa.password not in change
    assert "md5$" not in change
    assert "hash:" not in change


def test_groups_sync_creates_the_staff_groups_idempotently():
    first = groups_sync()
    second = groups_sync()
    assert first == second
    membership_staff = Group.objects.get(name="Membership staff")
    codenames = set(membership_staff.permissions.values_list("codename", flat=True))
    assert {"change_user", "view_order", "change_membership", "change_price", "change_countryband"} <= codenames
    editors = Group.objects.get(name="Editors")
    assert not editors.permissions.filter(content_type__app_label="members").exists()


# --- Profile ---------------------------------------------------------------------------------


def profile_data(user, **overrides):
    return {
        "full_name": user.full_name,
        "preferred_name": "",
        "country": user.country.code,
        "institution": user.institution,
        "position": "",
        "orcid": "",
        "language": "en",
        **overrides,
    }


def test_profile_edit_saves_country_orcid_and_update_time(client_logged_in, member):
    response = client_logged_in.post(
        reverse("members:profile"),
        profile_data(member, country="KE", orcid="https://orcid.org/0000-0002-1825-0097", directory_visible="on"),
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.country.code == "KE"
    assert member.orcid == "0000-0002-1825-0097"
    assert member.directory_visible is True
    assert member.profile_updated_at is not None


def test_profile_edit_with_bad_input_writes_nothing(client_logged_in, member):
    before = User.objects.values().get(pk=member.pk)
    response = client_logged_in.post(
        reverse("members:profile"), profile_data(member, full_name="<b>bold</b>", country="ZZ", orcid="1234")
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"full_name", "country", "orcid"}
    assert User.objects.values().get(pk=member.pk) == before


def test_profile_shows_names_escaped(client_logged_in, member):
    # A name stored before validation existed (e.g. imported) must still be shown as text.
    User.objects.filter(pk=member.pk).update(full_name="<i>x</i> O'Brien-Løvås")
    body = client_logged_in.get(reverse("members:profile")).content.decode()
    assert "<i>x</i>" not in body
    # Django's escape writes &#x27; for the apostrophe, Jinja2's (the form widgets) &#39;: the same character.
    assert "&lt;i&gt;x&lt;/i&gt; O&#x27;Brien-Løvås" in body.replace("&#39;", "&#x27;")


def test_email_change_page_requires_reauthentication(client, member):
    client.post(LOGIN_URL, {"login": member.email, "password": DEFAULT_PASSWORD})
    # Reauthentication is only asked after the timeout, so age the login.
    session = client.session
    for key in list(session.keys()):
        if key.startswith("account_authentication"):
            del session[key]
    session.save()
    response = client.post(reverse("account_email"), {"action_add": "", "email": "new@lab.example"})
    assert response.status_code == 302
    assert re.match(r"^/accounts/reauthenticate/", response["Location"])


def test_each_staff_group_sees_only_its_own_admin_sections(client):
    groups_sync()
    editor = StaffFactory()
    editor.groups.add(Group.objects.get(name="Editors"))
    membership_staff = StaffFactory()
    membership_staff.groups.add(Group.objects.get(name="Membership staff"))

    client.force_login(editor)
    assert client.get("/admin/members/user/").status_code == 403
    assert "/admin/members/user/" not in client.get("/admin/").content.decode()

    client.force_login(membership_staff)
    assert client.get("/admin/members/user/").status_code == 200
    assert "/admin/members/user/" in client.get("/admin/").content.decode()


def test_changed_email_replaces_the_login_only_once_verified(client, member):
    old_email = member.email
    client.post(LOGIN_URL, {"login": old_email, "password": DEFAULT_PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    response = client.post(reverse("account_email"), {"action_add": "", "email": "new@lab.example"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.email == old_email
    assert EmailAddress.objects.get(email="new@lab.example").verified is False

    deliver_outbox()
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", mail.outbox[-1].body).group(1)
    client.post(link)
    member.refresh_from_db()
    assert member.email == "new@lab.example"
    assert not EmailAddress.objects.filter(email=old_email).exists()


def test_membership_staff_cannot_grant_themselves_privileges(client):
    groups_sync()
    clerk = StaffFactory()
    clerk.groups.add(Group.objects.get(name="Membership staff"))
    client.force_login(clerk)
    url = f"/admin/members/user/{clerk.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"is_superuser": "on", "is_staff": "on", "country": "DE", "language": "en"})
    response = client.post(url, data)
    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.is_superuser is False
