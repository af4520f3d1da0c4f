"""The reminder preview: the member is found by the admin's search, the HTML part is served on its own with a
policy that lets the email's inline styles through (in a sandbox), and the admin page's own policy stays strict."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests.factories import TermFactory, UserFactory, default_reminder_rules

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def rule(db):
    return next(rule for rule in default_reminder_rules() if rule.offset_days == -30)


@pytest.fixture
def ana(db):
    user = UserFactory(full_name="Ana Souza", preferred_name="Ana", email="ana.souza@example.org", language="en")
    TermFactory(end=TODAY + dt.timedelta(days=30), membership__user=user)
    return user


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False):
        yield


def test_the_member_is_picked_by_the_admins_search_not_by_id(superuser_client, rule, ana):
    page = superuser_client.get(reverse("admin:members_reminderrule_preview", args=[rule.pk])).content.decode()
    assert 'class="admin-autocomplete' in page
    assert 'data-model-name="membership"' in page
    assert 'data-field-name="user"' in page
    assert 'type="number"' not in page
    found = superuser_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "members", "model_name": "membership", "field_name": "user", "term": "Souza"},
    ).json()
    assert found["results"] == [{"id": str(ana.pk), "text": str(ana)}]


def test_the_chosen_member_stays_shown_by_name(superuser_client, rule, ana):
    page = superuser_client.get(
        reverse("admin:members_reminderrule_preview", args=[rule.pk]), {"member": ana.pk}
    ).content.decode()
    assert f'<option value="{ana.pk}" selected>{ana}</option>' in page


def test_the_html_part_is_framed_from_its_own_response_and_the_text_part_is_focusable(superuser_client, rule, ana):
    url = reverse("admin:members_reminderrule_preview", args=[rule.pk])
    response = superuser_client.get(url, {"member": ana.pk})
    page = response.content.decode()
    assert "style-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert 'style="' not in page  # the email's inline styles are not in the admin page
    email_url = reverse("admin:members_reminderrule_preview_email", args=[rule.pk]) + f"?member={ana.pk}"
    assert f'<iframe class="email-preview-frame" src="{email_url}" sandbox title="HTML part of the email' in page
    assert '<pre class="email-preview-text" tabindex="0" role="region" aria-labelledby="text-part">' in page
    assert "Dear Ana," in page

    email = superuser_client.get(email_url)
    assert email.status_code == 200
    assert "Dear Ana," in email.content.decode()
    policy = email["Content-Security-Policy"]
    for directive in ["default-src 'none'", "style-src 'unsafe-inline'", "frame-ancestors 'self'", "sandbox"]:
        assert directive in policy
    assert "script-src" not in policy
    assert email["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize("member", ["", "x", "-1", "99999999999999999999", "\x00"])
def test_the_html_part_without_a_valid_member_is_not_found(superuser_client, rule, ana, member):
    url = reverse("admin:members_reminderrule_preview_email", args=[rule.pk])
    assert superuser_client.get(url, {"member": member}).status_code in {400, 404}
    preview = superuser_client.get(reverse("admin:members_reminderrule_preview", args=[rule.pk]), {"member": member})
    assert preview.status_code in {200, 400}
    assert "Dear Ana" not in preview.content.decode()


def test_the_html_part_needs_staff_powers(client, rule, ana):
    client.force_login(ana)
    url = reverse("admin:members_reminderrule_preview_email", args=[rule.pk])
    response = client.get(url, {"member": ana.pk})
    assert response.status_code == 302
    assert "Dear Ana" not in response.content.decode()
