import io
import re

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command

from members.demo import DEMO_STAFF_EMAIL
from members.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_members_in_70_countries_and_a_staff_user_with_totp():
    out = io.StringIO()
    call_command("seed_demo", "--force", stdout=out)
    members = User.objects.filter(is_staff=False)
    assert members.values("country").distinct().count() >= 70
    assert members.filter(directory_visible=True).exists()
    assert User.objects.in_directory().count() == members.filter(directory_visible=True).count()
    for name in ["Nguyễn Thị Minh Khai", "山中 伸子", "Σωκράτης Παπαδόπουλος", "Siobhán O'Brien-Løvås"]:
        assert members.filter(full_name=name).exists()

    staff = User.objects.get(email=DEMO_STAFF_EMAIL)
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    secret = re.search(r"TOTP secret \(add to an authenticator app\): ([A-Z2-7]+)", out.getvalue()).group(1)

    # Running again prints the same secret: the authenticator is kept, not replaced.
    again = io.StringIO()
    call_command("seed_demo", "--force", stdout=again)
    assert secret in again.getvalue()


def test_demo_members_can_log_in_with_the_printed_password(client):
    from members.demo import DEMO_MEMBER_PASSWORD

    call_command("seed_demo", "--force", stdout=io.StringIO())
    for email in ["member001@demo.society.example", "member001@demo-members.example"]:
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_MEMBER_PASSWORD})
        assert response.status_code == 302, email
        assert client.get("/membership/").status_code == 200
        client.logout()
