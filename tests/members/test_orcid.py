import urllib.parse

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp
from allauth.socialaccount.providers.orcid.views import OrcidOAuth2Adapter
from django.core import mail
from django.urls import reverse

from members.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.members.orcid_stub import OrcidStub
from tests.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

ORCID = "0000-0002-1825-0097"


@pytest.fixture
def orcid_stub(settings, monkeypatch):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "orcid": {"APPS": [{"client_id": "APP-TEST", "secret": "s3cret", "key": ""}]},
    }
    with OrcidStub(orcid=ORCID, given="Josiah", family="Carberry") as stub:
        # allauth fixes ORCID's https URLs when it loads; aim them at the local stub for this test.
        monkeypatch.setattr(OrcidOAuth2Adapter, "authorize_url", f"{stub.url}/oauth/authorize")
        monkeypatch.setattr(OrcidOAuth2Adapter, "access_token_url", f"{stub.url}/oauth/token")
        monkeypatch.setattr(OrcidOAuth2Adapter, "profile_url", f"{stub.url}/v3.0/%s/record")
        yield stub


def start_orcid_login(client, stub, process="login"):
    response = client.post(reverse("orcid_login"), {"process": process})
    assert response.status_code == 302
    authorize = urllib.parse.urlparse(response["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{stub.url}/oauth/authorize"
    query = dict(urllib.parse.parse_qsl(authorize.query))
    assert query["client_id"] == "APP-TEST"
    assert query["scope"] == "/authenticate"
    return query["state"]


def orcid_callback(client, state, code="good-code"):
    return client.get(reverse("orcid_callback"), {"code": code, "state": state})


def test_orcid_button_only_when_orcid_is_configured(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    assert "Continue with ORCID" not in client.get(reverse("account_login")).content.decode()
    settings.SOCIALACCOUNT_PROVIDERS = {"orcid": {"APPS": [{"client_id": "APP-TEST", "secret": "s", "key": ""}]}}
    assert "Continue with ORCID" in client.get(reverse("account_login")).content.decode()


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "member"])
def test_orcid_pages_are_404_when_orcid_is_not_configured(client, settings, signed_in):
    """No ORCID_CLIENT_ID/ORCID_SECRET and no SocialApp row: allauth still mounts the pages."""
    settings.SOCIALACCOUNT_PROVIDERS = {}
    assert not SocialApp.objects.exists()
    if signed_in:
        client.force_login(UserFactory())
    assert client.get(reverse("orcid_login")).status_code == 404
    assert client.post(reverse("orcid_login"), {"process": "connect"}).status_code == 404
    callback = client.get(reverse("orcid_callback"), {"code": "a-code", "state": "a-state"})
    assert callback.status_code == 404
    assert 'class="site-header"' in callback.content.decode()


def test_orcid_sign_up_asks_for_an_email_verifies_it_and_fills_orcid(client, orcid_stub):
    state = start_orcid_login(client, orcid_stub)
    response = orcid_callback(client, state)

    # ORCID shared no email: allauth shows the sign-up form, prefilled with the ORCID name.
    assert response.status_code == 302
    assert response["Location"] == reverse("socialaccount_signup")
    form_page = client.get(response["Location"])
    assert form_page.context["form"].initial["full_name"] == "Josiah Carberry"

    token_request = next(request for request in orcid_stub.requests if request[1] == "/oauth/token")
    assert token_request[2]["code"] == "good-code"
    record_request = next(request for request in orcid_stub.requests if request[0] == "GET")
    assert record_request[2]["accept"] == "application/orcid+json"

    response = client.post(
        reverse("socialaccount_signup"),
        {"email": "josiah@brown.example", "full_name": "Josiah Carberry", "country": "US"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="josiah@brown.example")
    assert user.orcid == ORCID
    assert user.full_name == "Josiah Carberry"
    assert user.country.code == "US"
    # One save: inserted with name, country and ORCID iD (allauth alone would save the user twice).
    assert [(row.history_type, row.full_name, row.country.code, row.orcid) for row in user.history.all()] == [
        ("+", "Josiah Carberry", "US", ORCID)
    ]
    assert SocialAccount.objects.get(user=user).uid == ORCID
    assert EmailAddress.objects.get(user=user).verified is False
    deliver_outbox()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["josiah@brown.example"]


def test_orcid_sign_up_with_bad_input_writes_nothing(client, orcid_stub):
    orcid_callback(client, start_orcid_login(client, orcid_stub))
    response = client.post(
        reverse("socialaccount_signup"), {"email": "not-an-email", "full_name": "<b>x</b>", "country": "QQ"}
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"email", "full_name", "country"}
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()


def test_connecting_orcid_to_an_existing_account_fills_orcid(client, orcid_stub):
    user = UserFactory(orcid="")
    client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    state = start_orcid_login(client, orcid_stub, process="connect")
    response = orcid_callback(client, state)
    # Connecting a sign-in method is a security change: allauth asks for the password, then resumes.
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not SocialAccount.objects.exists()
    response = client.post(response["Location"], {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.orcid == ORCID
    assert SocialAccount.objects.get(user=user).provider == "orcid"


def test_connecting_does_not_take_an_orcid_another_account_claims(client, orcid_stub):
    UserFactory(orcid=ORCID)
    user = UserFactory(orcid="")
    client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    orcid_callback(client, start_orcid_login(client, orcid_stub, process="connect"))
    assert SocialAccount.objects.get().user == user
    user.refresh_from_db()
    assert user.orcid == ""


def test_a_rejected_code_signs_nobody_in(client, orcid_stub):
    state = start_orcid_login(client, orcid_stub)
    response = orcid_callback(client, state, code="forged-code")
    assert response.status_code == 401
    assert 'class="site-header"' in response.content.decode()
    assert "socialaccount/authentication_error.html" in [template.name for template in response.templates]
    assert not User.objects.exists()
    assert "_auth_user_id" not in client.session
